// The README's example stack, run as written (TypeScript transpiled by the
// compiler jsii ships), against a zip where cargo lambda would write it.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const ts = require('typescript');
const { CDK } = require('./support');

for (const readme of [path.join(CDK, 'README.md'), path.join(CDK, '..', 'README.md')]) {
  test(`${path.relative(path.join(CDK, '..'), readme)}: the CDK example synthesizes a TokenVendor`, () => {
    const text = fs.readFileSync(readme, 'utf8');
    const blocks = [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.includes('new TokenVendor('));
    assert.strictEqual(blocks.length, 1, 'one TokenVendor example');
    // The package itself for "cdk-token-vendor"; aws-cdk-lib resolves from here.
    const js = ts.transpileModule(blocks[0], { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText
      .replace(/require\("cdk-token-vendor"\)/g, `require(${JSON.stringify(CDK)})`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-vendor-readme-'));
    const cwd = process.cwd();
    try {
      fs.mkdirSync(path.join(dir, 'target', 'lambda', 'token-vendor'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'target', 'lambda', 'token-vendor', 'bootstrap.zip'), 'placeholder');
      process.chdir(dir);
      const run = new Function('require', 'exports', `${js}\nreturn app.synth();`);
      const assembly = run(require, {});
      const template = JSON.parse(fs.readFileSync(path.join(assembly.directory, assembly.stacks[0].templateFile), 'utf8'));
      const types = Object.values(template.Resources).map((r) => r.Type);
      assert.ok(types.includes('AWS::Lambda::Function') && types.includes('AWS::ApiGatewayV2::Api'));
      const fn = Object.values(template.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
      assert.strictEqual(fn.Properties.Environment.Variables.LIVEKIT_URL, 'wss://my-project.livekit.cloud');
      assert.strictEqual(fn.Properties.Architectures[0], 'arm64');
    } finally {
      process.chdir(cwd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
