// The package as npm and jsii see it: its metadata in step with the crate,
// the licence text shipped, src/from-template.ts current with template.yaml,
// and API.md what jsii-docgen makes of the built .jsii today.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { CDK, ROOT, pythonWithTools } = require('./support');

const pkg = JSON.parse(fs.readFileSync(path.join(CDK, 'package.json'), 'utf8'));
const cargo = fs.readFileSync(path.join(ROOT, 'Cargo.toml'), 'utf8');
const cargoField = (name) => cargo.match(new RegExp(`^${name} = "([^"]*)"`, 'm'))[1];

test('package.json: name, keyword, licence, version, repository and peers as the issue and the crate say', () => {
  assert.strictEqual(pkg.name, 'cdk-token-vendor');
  assert.ok(pkg.keywords.includes('awscdk'));
  assert.ok(cargoField('license').split(' OR ').includes(pkg.license), `${pkg.license} is one of the crate's licences`);
  assert.strictEqual(pkg.version, cargoField('version'));
  assert.strictEqual(pkg.homepage, cargoField('repository'));
  assert.strictEqual(pkg.repository.url, `${cargoField('repository')}.git`);
  assert.match(pkg.peerDependencies['aws-cdk-lib'], /^\^2\./);
  assert.match(pkg.peerDependencies.constructs, /^\^10\./);
  // jsii: the devDependency is the lowest peer version it builds and tests against.
  assert.strictEqual(`^${pkg.devDependencies['aws-cdk-lib']}`, pkg.peerDependencies['aws-cdk-lib']);
  assert.ok(fs.existsSync(path.join(CDK, 'package-lock.json')), 'a committed lock file');
  const lock = JSON.parse(fs.readFileSync(path.join(CDK, 'package-lock.json'), 'utf8'));
  assert.strictEqual(lock.packages[''].version, pkg.version);
});

test('the licence text shipped is the repository\'s own', () => {
  const text = fs.readFileSync(path.join(CDK, 'LICENSE'), 'utf8');
  assert.strictEqual(text, fs.readFileSync(path.join(ROOT, pkg.license === 'MIT' ? 'LICENSE-MIT' : 'LICENSE-APACHE'), 'utf8'));
  assert.ok(pkg.files.includes('LICENSE'));
});

test('src/from-template.ts is current with template.yaml', () => {
  execFileSync(pythonWithTools(), [path.join(CDK, 'scripts', 'from_template.py'), '--check'], { stdio: 'pipe' });
});

test('API.md is what jsii-docgen makes of the construct today', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-vendor-docgen-'));
  try {
    const out = path.join(dir, 'API.md');
    execFileSync(path.join(CDK, 'node_modules', '.bin', 'jsii-docgen'), ['--output', out], { cwd: CDK, stdio: 'pipe' });
    assert.strictEqual(fs.readFileSync(path.join(CDK, 'API.md'), 'utf8'), fs.readFileSync(out, 'utf8'),
      'API.md is stale: run npm run docgen');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('README.md\'s props table is current with .jsii', () => {
  execFileSync(process.execPath, [path.join(CDK, 'scripts', 'props-table.js'), '--check'], { stdio: 'pipe' });
});

test('each documented default is the template parameter\'s default', () => {
  const { MIRRORED } = require('../lib/validate');
  const { TEMPLATE_PARAMETERS } = require('../lib/from-template');
  const lib = require('..');
  const assembly = JSON.parse(fs.readFileSync(path.join(CDK, '.jsii'), 'utf8'));
  const docs = Object.fromEntries(assembly.types['cdk-token-vendor.TokenVendorProps'].properties.map((p) => [p.name, p.docs?.default]));
  let literal = 0;
  for (const [prop, parameter] of MIRRORED) {
    const documented = docs[prop];
    const template = TEMPLATE_PARAMETERS[parameter].default;
    if (documented === undefined) {
      assert.strictEqual(template, undefined, `${prop} documents no default, the template has ${template}`);
      continue;
    }
    if (documented.startsWith('- ')) {
      // Described in words: the template's default is "" (unset).
      assert.strictEqual(template, '', `${prop}: "${documented}" but the template's default is ${JSON.stringify(template)}`);
      continue;
    }
    literal += 1;
    const value = new Function('IdentityMode', 'FailMode', 'TracingMode', `return (${documented});`)(
      lib.IdentityMode, lib.FailMode, lib.TracingMode);
    const asParameter = Array.isArray(value) ? value.join(',') : String(value);
    assert.strictEqual(asParameter, template, `${prop}: documented ${documented}, template ${template}`);
  }
  assert.ok(literal > 20, `${literal} literal defaults compared`);
});
