// The construct refuses at synth what the template refuses at deploy and
// what the function refuses at start: every value tests/template/
// check_parameters.py gives both the template and the binary (thousands,
// one parameter at a time, plus the pairs only the binary compares) is
// given to the construct's props too, and its verdict must be "takes" exactly
// when both the template and the binary take it.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const cdk = require('aws-cdk-lib');
const { ROOT, pythonWithTools, synth } = require('./support');
const { MIRRORED, resolveProps } = require('../lib/validate');
const { TEMPLATE_PARAMETERS } = require('../lib/from-template');

/** check_parameters.py's trials and both verdicts (.ci/run writes them before the CDK step). */
function trials() {
  const file = path.join(ROOT, 'target', 'parameter-trials.json');
  // Older than what decides a verdict: the template, the script, or the
  // binary's configuration check.
  const sources = ['template.yaml', path.join('tests', 'template', 'check_parameters.py'),
    path.join('examples', 'check_config.rs'),
    ...fs.readdirSync(path.join(ROOT, 'src', 'config')).map((f) => path.join('src', 'config', f))];
  const stale = () => fs.statSync(file).mtimeMs < Math.max(...sources.map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs));
  if (!fs.existsSync(file) || stale()) {
    // Runs the binary's own configuration check (cargo run --example check_config).
    fs.mkdirSync(path.dirname(file), { recursive: true });
    execFileSync(pythonWithTools(), [path.join(ROOT, 'tests', 'template', 'check_parameters.py'), '--dump', file],
      { cwd: ROOT, stdio: 'inherit' });
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

/** The props that give the template these parameters, or undefined when props cannot say it. */
function propsOf(params) {
  const props = {};
  for (const [prop, parameter, kind] of MIRRORED) {
    const value = params[parameter];
    const byDefault = (TEMPLATE_PARAMETERS[parameter].default ?? null) === value;
    if (kind === 'string' || kind === 'list') {
      if (byDefault) continue;
      props[prop] = kind === 'list' ? value.split(',') : value;
    } else if (kind === 'boolean') {
      if (value !== 'true' && value !== 'false') return undefined;
      props[prop] = value === 'true';
    } else {
      if (value === '' && byDefault) continue;
      if (value === '' || String(Number(value)) !== value) return undefined;
      props[prop] = Number(value);
    }
  }
  return props;
}

function verdict(props) {
  try {
    resolveProps(props);
    return 'takes';
  } catch (e) {
    return e.message;
  }
}

test('props take exactly what both the template and the binary take', () => {
  const all = trials();
  assert.ok(all.length > 2000, `check_parameters.py gave ${all.length} trials`);
  let compared = 0;
  const wrong = [];
  const refusedOnlyByBinary = [];
  for (const t of all) {
    const props = propsOf(t.params);
    if (!props) continue;
    compared += 1;
    const expected = t.template && (t.binary === 'ok' || t.binary === 'n/a');
    const got = verdict(props);
    if ((got === 'takes') !== expected) {
      wrong.push(`${t.name}=${JSON.stringify(t.value)}: template ${t.template ? 'takes' : 'refuses'}, binary ${t.binary}, construct ${got}`);
    }
    if (t.template && t.binary !== 'ok' && t.binary !== 'n/a') refusedOnlyByBinary.push(got);
  }
  assert.deepStrictEqual(wrong, []);
  // Every mirrored prop was tried, with values it takes and values it refuses.
  // (A boolean prop can only be true or false, both taken; the template
  // puts no constraint on JwtIssuer and JwtAudience.)
  for (const [prop, parameter, kind] of MIRRORED) {
    const mine = all.filter((t) => t.name === parameter && propsOf(t.params));
    const spec = TEMPLATE_PARAMETERS[parameter];
    const constrained = spec.allowedPattern || spec.allowedValues || spec.minValue !== undefined;
    assert.ok(mine.some((t) => t.template), `${prop}: a value taken`);
    assert.ok(kind === 'boolean' || !constrained || mine.some((t) => !t.template), `${prop}: a value refused`);
  }
  // Most trials are expressible as props; not those of a number prop that
  // JavaScript would write otherwise ("007", "1e3", "abc"), nor a boolean's
  // other than true and false.
  assert.ok(compared > 2000, `only ${compared} of ${all.length} trials compared`);
  // The pairs CloudFormation cannot compare are among them, refused by the construct.
  assert.ok(refusedOnlyByBinary.length >= 3, 'the pairs only the binary compares were tried');
  assert.ok(refusedOnlyByBinary.every((got) => got !== 'takes'), 'the construct refuses what only the binary refuses');
});

test('a refusal names the prop and what it takes, every refused prop at once', () => {
  assert.throws(() => resolveProps({ allowedOrigins: ['https://app.example.com/'], livekitUrl: 'wss://lk.example.com',
    livekitTtlSeconds: 59 }), (e) => {
    assert.match(e.message, /allowedOrigins: "https:\/\/app.example.com\/" is refused \(\* alone, or comma-separated origins/);
    assert.match(e.message, /livekitTtlSeconds: "59" is refused/);
    assert.match(e.message, /livekitRooms is required when livekitUrl is set/);
    return true;
  });
  assert.throws(() => resolveProps({ casUrl: 'http://user:hunter2@cas.example.com', allowedOrigins: ['*'] }), (e) => {
    assert.match(e.message, /casUrl: "http:\/\/\*\*\*@cas.example.com" is refused/);
    assert.ok(!e.message.includes('hunter2'), 'a URL\'s password is not shown');
    return true;
  });
  assert.throws(() => resolveProps({ allowedOrigins: ['*'] }), /set casUrl, aipixUrl, livekitUrl, agoraAppId, twilioAccountSid, vonageApplicationId or any of them/);
  assert.throws(() => resolveProps({ casUrl: 'https://c.example.com' }), /allowedOrigins is required/);
  assert.throws(() => resolveProps({ casUrl: 'https://c.example.com', allowedOrigins: ['*'], roomRefreshMarginSeconds: 600, roomTtlSeconds: 600 }),
    /roomRefreshMarginSeconds \(600\) must be below roomTtlSeconds \(600\)/);
});

test('the construct refuses bad props when it is made, not at deploy', () => {
  assert.throws(() => synth({ casUrl: 'http://cas.example.com', allowedOrigins: ['*'] }), /TokenVendor: casUrl: "http:\/\/cas.example.com" is refused/);
  assert.throws(() => synth((stack) => ({ casUrl: 'https://cas.example.com', allowedOrigins: ['*'],
    extraCaCertsLayer: cdk.aws_lambda.LayerVersion.fromLayerVersionArn(stack, 'L', 'arn:aws:lambda:us-east-1:123456789012:layer:ca:1') })),
  /extraCaCerts .* is required with extraCaCertsLayer/);
});

test('a prop given as a token (a CfnParameter) goes to the function unchecked, unless it decides what is made', () => {
  const { json } = synth((stack) => ({
    casUrl: new cdk.CfnParameter(stack, 'CasUrl').valueAsString,
    allowedOrigins: new cdk.CfnParameter(stack, 'Origins', { type: 'CommaDelimitedList' }).valueAsList,
    livekitTtlSeconds: new cdk.CfnParameter(stack, 'Ttl', { type: 'Number' }).valueAsNumber,
  }));
  const fn = Object.values(json.Resources).find((r) => r.Type === 'AWS::Lambda::Function');
  assert.deepStrictEqual(fn.Properties.Environment.Variables.CAS_URL, { Ref: 'CasUrl' });
  assert.deepStrictEqual(fn.Properties.Environment.Variables.ALLOWED_ORIGINS, { 'Fn::Join': [',', { Ref: 'Origins' }] });
  assert.deepStrictEqual(fn.Properties.Environment.Variables.LIVEKIT_TTL_S, { Ref: 'Ttl' });
  const api = Object.values(json.Resources).find((r) => r.Type === 'AWS::ApiGatewayV2::Api' && r.Properties.CorsConfiguration);
  assert.deepStrictEqual(api.Properties.CorsConfiguration.AllowOrigins,
    { 'Fn::Split': [',', { 'Fn::Join': [',', { Ref: 'Origins' }] }] });
  assert.throws(() => synth((stack) => ({ casUrl: 'https://c.example.com', allowedOrigins: ['*'],
    quotaPerCaller: new cdk.CfnParameter(stack, 'Quota').valueAsString })), /quotaPerCaller cannot be a token/);
});
