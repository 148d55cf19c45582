// The construct passes cdk-nag (its AwsSolutions and Serverless packs,
// through v3's Validations API), aws-cdk-lib's own CloudFormation validation
// plugin, and cfn-lint, in each scenario: what it acknowledges it
// acknowledges itself, each with its reason, so that a user's own nag run
// sees only the user's findings.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const cdk = require('aws-cdk-lib');
const { AwsSolutionsChecks, ServerlessChecks } = require('cdk-nag');
const { TokenVendor, TracingMode, FailMode } = require('..');
const { ENV, placeholderCode, pythonWithTools } = require('./support');

const SCENARIOS = {
  'CAS only, every default': () => ({ casUrl: 'https://cas.example.com', allowedOrigins: ['https://app.example.com'] }),
  'every provider and option on': (stack) => ({
    casUrl: 'https://cas.example.com', aipixUrl: 'https://aipix.example.com', aipixStreams: ['*'],
    livekitUrl: 'wss://lk.example.com', livekitRooms: ['*'], agoraAppId: '970ca35de60c44645bbae8a215061b33',
    agoraChannels: ['*'], twilioAccountSid: 'AC970ca35de60c44645bbae8a215061b33', twilioRooms: ['*'],
    vonageApplicationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee', quotaPerCaller: '20/1h', quotaFail: FailMode.CLOSED,
    allowedOrigins: ['https://app.example.com'], jwtIssuer: 'https://issuer.example.com', jwtAudience: ['web'],
    alarmEmail: 'ops@example.com', reservedConcurrency: 10, tracingMode: TracingMode.ACTIVE,
    secretKmsKey: new cdk.aws_kms.Key(stack, 'Key', { enableKeyRotation: true }),
  }),
  'an existing secret': (stack) => ({
    livekitUrl: 'wss://lk.example.com', livekitRooms: ['*'], allowedOrigins: ['*'],
    existingSecret: cdk.aws_secretsmanager.Secret.fromSecretNameV2(stack, 'Secret', 'token-vendor'),
  }),
};

/** An app checked at synth by cdk-nag and aws-cdk-lib's validation plugin. */
function checkedApp(outdir) {
  const app = new cdk.App({ outdir });
  cdk.Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app),
    new cdk.CloudFormationValidatePlugin());
  const stack = new cdk.Stack(app, 'Stack', { env: ENV });
  return { app, stack };
}

for (const [name, props] of Object.entries(SCENARIOS)) {
  test(`cdk-nag, CDK's validation and cfn-lint pass: ${name}`, () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-vendor-cdk-'));
    try {
      const { app, stack } = checkedApp(outdir);
      new TokenVendor(stack, 'Vendor', { code: placeholderCode(stack), ...props(stack) });
      const assembly = app.synth({ validateOnSynthesis: true });
      const template = path.join(assembly.directory, assembly.getStackByName('Stack').templateFile);
      // W3005: CDK writes a DependsOn on the role beside the Role GetAtt; harmless.
      execFileSync(path.join(path.dirname(pythonWithTools()), 'cfn-lint'),
        ['--regions', 'us-east-1', '--ignore-checks', 'W3005', '--', template], { stdio: 'pipe' });
    } catch (e) {
      assert.fail(String(e.stdout || '') + String(e.message).slice(0, 20000));
    } finally {
      fs.rmSync(outdir, { recursive: true, force: true });
    }
  });
}

test('the checks can fail: a finding the construct does not acknowledge stops synthesis', () => {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'token-vendor-cdk-'));
  try {
    const { app, stack } = checkedApp(outdir);
    new TokenVendor(stack, 'Vendor', { code: placeholderCode(stack), ...SCENARIOS['CAS only, every default']() });
    new cdk.aws_sns.Topic(stack, 'PlainTopic');
    assert.throws(() => app.synth(), /Validation failed/);
    const report = JSON.parse(fs.readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    // Findings, acknowledged or not, wherever the report keeps them.
    const findings = [];
    const walk = (o, rule, acknowledged) => {
      if (Array.isArray(o)) {
        o.forEach((x) => walk(x, rule, acknowledged));
      } else if (o && typeof o === 'object') {
        const r = o.ruleName ?? rule;
        const a = acknowledged || !!o.acknowledgedAt;
        if (o.constructPath) findings.push({ rule: r, path: o.constructPath, acknowledged: a });
        for (const v of Object.values(o)) walk(v, r, a);
      }
    };
    walk(report.pluginReports);
    const open = findings.filter((f) => !f.acknowledged);
    assert.deepStrictEqual(open.map((f) => `${f.rule} ${f.path}`), ['AwsSolutions-SNS3 Stack/PlainTopic/Resource']);
    // The construct's own findings are all acknowledged (by the construct, with reasons).
    assert.ok(findings.some((f) => f.path.startsWith('Stack/Vendor/') && f.acknowledged));
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
});

test('every acknowledgement the construct makes names its reason', () => {
  const app = new cdk.App();
  const stack = new cdk.Stack(app, 'Stack', { env: ENV });
  const vendor = new TokenVendor(stack, 'Vendor', { code: placeholderCode(stack), ...SCENARIOS['every provider and option on'](stack) });
  const plain = new TokenVendor(stack, 'Plain', { code: placeholderCode(stack), ...SCENARIOS['CAS only, every default']() });
  const acknowledged = [];
  for (const node of [...vendor.node.findAll(), ...plain.node.findAll()]) {
    for (const entry of node.node.metadata.filter((m) => m.type === cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY)) {
      for (const [id, reason] of Object.entries(entry.data)) acknowledged.push({ path: node.node.path, id, reason });
    }
  }
  const ids = new Set(acknowledged.map((a) => a.id));
  for (const id of ['AwsSolutions::AwsSolutions-APIG4', 'AwsSolutions::AwsSolutions-SMG4', 'AwsSolutions::AwsSolutions-DDB3',
    'AwsSolutions::AwsSolutions-IAM5[Resource::*]', 'Serverless::Serverless-LambdaDLQ', 'Serverless::Serverless-LambdaTracing',
    'Serverless::Serverless-SNSRedrivePolicy']) {
    assert.ok(ids.has(id), `${id} acknowledged (found ${[...ids].join(', ')})`);
  }
  for (const a of acknowledged) {
    assert.ok(typeof a.reason === 'string' && a.reason.length > 80, `${a.path} ${a.id}: a reason`);
  }
  // With jwtIssuer every token route is authorized: nothing to acknowledge there.
  assert.ok(!acknowledged.some((a) => a.path.startsWith('Stack/Vendor/') && a.id.endsWith('APIG4')));
});
