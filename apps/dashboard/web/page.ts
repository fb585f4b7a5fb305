import type { Session } from "./api.ts";

export interface PageContext {
  session: Session;
  main: HTMLElement;
  /** False for a read-only key: write actions are not shown. */
  canWrite: boolean;
}

export interface Page {
  render(): Promise<void>;
  dispose?(): void;
}
