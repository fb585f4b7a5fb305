/**
 * The import rule a module graph cannot express: producer code (the API, the CLI, the queue package) never
 * imports BullMQ's Worker. dependency-cruiser sees that a file imports `bullmq`, not which names it takes, so
 * `npm run lint` runs this after it. Reported like dependency-cruiser's errors; exits 1 on any.
 * Forbidden in producer code: `Worker` among the named imports or re-exports of bullmq, a namespace or default
 * import of bullmq (which would reach Worker by name), `export *` from it, a dynamic import of it, and any
 * module path into bullmq's worker classes.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";

const RULE = "producer-no-bullmq-worker";
const PRODUCER = ["apps/api/src", "apps/cli/src", "packages/queue/src"];

function files(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(c|m)?[jt]sx?$/.test(f) && !f.endsWith(".d.ts") ? [p] : [];
  });
}

const isBullmq = (spec: string) => spec === "bullmq" || spec.startsWith("bullmq/");
const workerPath = (spec: string) => /^bullmq\/.*worker/i.test(spec);

/** Every forbidden use of bullmq in one file's source: a short description each. */
export function workerImports(source: string, fileName = "x.ts"): string[] {
  const sf = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const spec = node.moduleSpecifier.text;
      if (isBullmq(spec)) {
        if (workerPath(spec)) found.push(`${spec} (a worker module)`);
        if (ts.isImportDeclaration(node)) {
          const clause = node.importClause;
          if (clause?.name) found.push(`${spec} (default import ${clause.name.text})`);
          const b = clause?.namedBindings;
          if (b && ts.isNamespaceImport(b)) found.push(`${spec} (namespace import ${b.name.text})`);
          if (b && ts.isNamedImports(b)) for (const e of b.elements) if ((e.propertyName ?? e.name).text === "Worker") found.push(`${spec} (Worker)`);
        } else {
          const c = node.exportClause;
          if (!c) found.push(`${spec} (export *)`);
          else if (ts.isNamespaceExport(c)) found.push(`${spec} (export * as ${c.name.text})`);
          else for (const e of c.elements) if ((e.propertyName ?? e.name).text === "Worker") found.push(`${spec} (re-exports Worker)`);
        }
      }
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteralLike(arg) && isBullmq(arg.text)) found.push(`${arg.text} (dynamic import)`);
    }
    if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const e = node.moduleReference.expression;
      if (ts.isStringLiteral(e) && isBullmq(e.text)) found.push(`${e.text} (import = require)`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

export function checkProducerImports(root: string): string[] {
  return PRODUCER.flatMap((d) => files(join(root, d))).flatMap((f) =>
    workerImports(readFileSync(f, "utf8"), f).map((what) => `  error ${RULE}: ${relative(root, f)} → ${what}`),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const errors = checkProducerImports(process.cwd());
  if (errors.length) {
    process.stdout.write(`${errors.join("\n")}\n\nx ${errors.length} named-import violation(s): producer code never imports BullMQ's Worker.\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write("✔ producer code imports no BullMQ Worker\n");
  }
}
