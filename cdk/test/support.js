// Shared by the tests: the construct synthesized offline (no CLI, no
// credentials, no Docker: app.synth() through Template.fromStack), and
// template.yaml through the SAM translator, in the Python the repository's
// tools venv holds (.ci/run makes it), else one made here.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const cdk = require('aws-cdk-lib');
const { Template } = require('aws-cdk-lib/assertions');
const { TokenVendor } = require('..');

const CDK = path.join(__dirname, '..');
const ROOT = path.join(CDK, '..');

let python;
/** A Python with the SAM translator, PyYAML and cfn-lint. */
function pythonWithTools() {
  if (python) return python;
  const shared = path.join(ROOT, '.venv-tools', 'bin', 'python');
  const has = (py) => {
    try {
      execFileSync(py, ['-c', 'import samtranslator, yaml, cfnlint'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (fs.existsSync(shared) && has(shared)) {
    python = shared;
    return python;
  }
  const own = path.join(CDK, '.venv', 'bin', 'python');
  if (!(fs.existsSync(own) && has(own))) {
    execFileSync('python3', ['-m', 'venv', path.join(CDK, '.venv')], { stdio: 'inherit' });
    execFileSync(own, ['-m', 'pip', 'install', '--quiet', 'aws-sam-translator', 'cfn-lint', 'PyYAML'],
      { stdio: 'inherit' });
  }
  python = own;
  return python;
}

/** template.yaml after the SAM transform, its parameters and openapi.yaml's operations. */
function samTranslated() {
  const out = execFileSync(pythonWithTools(), [path.join(CDK, 'scripts', 'sam_translate.py')], { maxBuffer: 64 << 20 });
  return JSON.parse(out);
}

const ENV = { account: '123456789012', region: 'us-east-1' };

/** The placeholder code: a bucket and key, so that no bootstrap need be built. */
function placeholderCode(stack) {
  const bucket = stack.node.tryFindChild('CodeBucket') ?? cdk.aws_s3.Bucket.fromBucketName(stack, 'CodeBucket', 'bucket');
  return cdk.aws_lambda.Code.fromBucket(bucket, 'token-vendor.zip');
}

/**
 * Synthesizes a stack holding one TokenVendor. `props` may be a function of
 * the stack (for props that are constructs). Returns the template's JSON
 * and each logical id's path under the construct (e.g. 'RoomsTable/Resource').
 */
function synth(props) {
  const app = new cdk.App();
  const stack = new cdk.Stack(app, 'Stack', { env: ENV });
  const given = typeof props === 'function' ? props(stack) : props;
  const vendor = new TokenVendor(stack, 'Vendor', { code: placeholderCode(stack), ...given });
  const paths = {};
  for (const child of vendor.node.findAll()) {
    if (cdk.CfnResource.isCfnResource(child)) {
      paths[stack.resolve(child.logicalId)] = child.node.path.split('/').slice(2).join('/');
    }
  }
  return { json: Template.fromStack(stack).toJSON(), paths };
}

module.exports = { CDK, ROOT, pythonWithTools, samTranslated, synth, ENV, placeholderCode };
