// Minimal typing for the parts of yauzl 3 this package uses (no @types package is installed).
declare module "yauzl" {
  import type { Readable } from "node:stream";
  export interface Entry {
    fileName: string;
    uncompressedSize: number;
    /** The high 16 bits hold the Unix mode when the archive was made on Unix. */
    externalFileAttributes: number;
  }
  export interface ZipFile {
    readEntry(): void;
    close(): void;
    on(event: "entry", cb: (e: Entry) => void): this;
    on(event: "end", cb: () => void): this;
    on(event: "error", cb: (err: Error) => void): this;
    openReadStream(entry: Entry, cb: (err: Error | null, stream: Readable) => void): void;
  }
  export function open(path: string, opts: { lazyEntries: boolean; autoClose?: boolean }, cb: (err: Error | null, zip: ZipFile) => void): void;
}
