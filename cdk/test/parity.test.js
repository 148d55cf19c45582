// The construct is held to template.yaml: the same settings given to both
// (template parameters, construct props), template.yaml translated by the
// SAM translator offline, the construct synthesized, and their facts
// compared (facts.js): resource types, each resource's IAM actions, the
// function and its environment, routes (= openapi.yaml's operations), CORS,
// the JWT authorizer, stages, alarms, tables, log groups, the secret, the
// topic and the dashboard. A difference fails unless parity-allowlist.json
// lists it with its reason; an entry no scenario needs fails too.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const cdk = require('aws-cdk-lib');
const { samTranslated, synth, CDK } = require('./support');
const { samFacts, cdkFacts } = require('./facts');
const { FailMode, IdentityMode, TracingMode } = require('..');

const ALLOW = JSON.parse(fs.readFileSync(path.join(CDK, 'parity-allowlist.json'), 'utf8'));
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:token-vendor-AbCdEf';
const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-4333-8444-555555555555';
const LAYER_ARN = 'arn:aws:lambda:us-east-1:123456789012:layer:aipix-ca:3';

const SCENARIOS = {
  'CAS only, every default': {
    params: { CasUrl: 'https://cas.example.com', AllowedOrigins: 'https://app.example.com' },
    props: { casUrl: 'https://cas.example.com', allowedOrigins: ['https://app.example.com'] },
  },
  'a new secret under a customer-managed KMS key': {
    params: { LiveKitUrl: 'wss://lk.example.com', LiveKitRooms: '*', AllowedOrigins: '*', SecretKmsKeyArn: KEY_ARN },
    props: (stack) => ({ livekitUrl: 'wss://lk.example.com', livekitRooms: ['*'], allowedOrigins: ['*'],
      secretKmsKey: cdk.aws_kms.Key.fromKeyArn(stack, 'Key', KEY_ARN) }),
  },
  'every provider and option on': {
    params: {
      CasUrl: 'https://cas.example.com', AipixUrl: 'https://aipix.example.com', AipixStreams: 'cam-1,cam-2',
      AipixRights: 'live,dvr', AipixMaxTtl: '7200', AipixDefaultTtl: '600', AipixAllowUnlimited: 'true',
      LiveKitUrl: 'wss://lk.example.com', LiveKitRooms: 'party-*,lobby', LiveKitGrants: 'subscribe',
      LiveKitTtlSeconds: '900', LiveKitRoomConfig: 'true', LiveKitIdentity: 'request',
      AgoraAppId: '970ca35de60c44645bbae8a215061b33', AgoraChannels: '*', AgoraRoles: 'subscriber',
      AgoraTtlSeconds: '600', AgoraMaxTtlSeconds: '1200', AgoraIdentity: 'request',
      TwilioAccountSid: 'AC970ca35de60c44645bbae8a215061b33', TwilioRooms: 'room-*', TwilioTtlSeconds: '600',
      TwilioIdentity: 'request', VonageApplicationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      VonageRoles: 'subscriber,publisher,moderator', VonageTtlSeconds: '600', VonageData: 'true',
      QuotaPerCaller: '20/1h', QuotaFail: 'closed', BansFail: 'open',
      AdminPrincipals: 'arn:aws:sts::123456789012:assumed-role/Ops/*', ExtraCaCerts: '/opt/certs/aipix-ca.pem',
      ExtraCaCertsLayerArn: LAYER_ARN, AllowedOrigins: 'https://app.example.com,https://staging.example.com',
      ExistingSecretArn: SECRET_ARN, SecretMaxAgeSeconds: '60', SecretKmsKeyArn: KEY_ARN, UpstreamTimeoutMs: '3000',
      JwtIssuer: 'https://issuer.example.com', JwtAudience: 'web,ios', ThrottlingRateLimit: '20',
      ThrottlingBurstLimit: '40', DisableExecuteApiEndpoint: 'true', ReservedConcurrency: '10',
      RoomRefreshMarginSeconds: '30', RoomTtlSeconds: '3600', LogRetentionDays: '90', MetricsNamespace: 'Vendor/Prod',
      AlarmEmail: 'ops@example.com', ServerErrorsThreshold: '3', TracingMode: 'Active',
    },
    props: (stack) => ({
      casUrl: 'https://cas.example.com', aipixUrl: 'https://aipix.example.com', aipixStreams: ['cam-1', 'cam-2'],
      aipixRights: ['live', 'dvr'], aipixMaxTtl: 7200, aipixDefaultTtl: 600, aipixAllowUnlimited: true,
      livekitUrl: 'wss://lk.example.com', livekitRooms: ['party-*', 'lobby'], livekitGrants: ['subscribe'],
      livekitTtlSeconds: 900, livekitRoomConfig: true, livekitIdentity: IdentityMode.REQUEST,
      agoraAppId: '970ca35de60c44645bbae8a215061b33', agoraChannels: ['*'], agoraRoles: ['subscriber'],
      agoraTtlSeconds: 600, agoraMaxTtlSeconds: 1200, agoraIdentity: IdentityMode.REQUEST,
      twilioAccountSid: 'AC970ca35de60c44645bbae8a215061b33', twilioRooms: ['room-*'], twilioTtlSeconds: 600,
      twilioIdentity: IdentityMode.REQUEST, vonageApplicationId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
      vonageRoles: ['subscriber', 'publisher', 'moderator'], vonageTtlSeconds: 600, vonageData: true,
      quotaPerCaller: '20/1h', quotaFail: FailMode.CLOSED, bansFail: FailMode.OPEN,
      adminPrincipals: ['arn:aws:sts::123456789012:assumed-role/Ops/*'], extraCaCerts: '/opt/certs/aipix-ca.pem',
      extraCaCertsLayer: cdk.aws_lambda.LayerVersion.fromLayerVersionArn(stack, 'Layer', LAYER_ARN),
      allowedOrigins: ['https://app.example.com', 'https://staging.example.com'],
      existingSecret: cdk.aws_secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', SECRET_ARN),
      secretMaxAgeSeconds: 60, secretKmsKey: cdk.aws_kms.Key.fromKeyArn(stack, 'Key', KEY_ARN), upstreamTimeoutMs: 3000,
      jwtIssuer: 'https://issuer.example.com', jwtAudience: ['web', 'ios'], throttlingRateLimit: 20,
      throttlingBurstLimit: 40, disableExecuteApiEndpoint: true, reservedConcurrency: 10,
      roomRefreshMarginSeconds: 30, roomTtlSeconds: 3600, logRetentionDays: 90, metricsNamespace: 'Vendor/Prod',
      alarmEmail: 'ops@example.com', serverErrorsThreshold: 3, tracingMode: TracingMode.ACTIVE,
    }),
  },
};

function allowed(key, sam, cdkValue) {
  return ALLOW.differences.find((d) => {
    if (d.fact !== key) return false;
    if ('sam' in d && JSON.stringify(d.sam) !== (sam === undefined ? 'null' : sam)) return false;
    if ('cdk' in d && JSON.stringify(d.cdk) !== (cdkValue === undefined ? 'null' : cdkValue)) return false;
    return true;
  });
}

const used = new Set();
const sam = samTranslated();

for (const [name, { params, props }] of Object.entries(SCENARIOS)) {
  test(`the construct makes what template.yaml makes: ${name}`, () => {
    const fromSam = samFacts(sam, params, ALLOW.managedPolicies);
    const { json, paths } = synth(props);
    const fromCdk = cdkFacts(json, paths);
    const problems = [];
    for (const key of new Set([...Object.keys(fromSam), ...Object.keys(fromCdk)])) {
      if (fromSam[key] === fromCdk[key]) continue;
      const entry = allowed(key, fromSam[key], fromCdk[key]);
      if (entry) {
        used.add(ALLOW.differences.indexOf(entry));
        continue;
      }
      problems.push(`${key}\n    template: ${fromSam[key] ?? '(none)'}\n    construct: ${fromCdk[key] ?? '(none)'}`);
    }
    assert.deepStrictEqual(problems, [], 'differences not in parity-allowlist.json:\n  ' + problems.join('\n  '));
  });
}

test('every route is one of openapi.yaml\'s operations, and every operation but the preflights is routed', () => {
  const { json } = synth(SCENARIOS['CAS only, every default'].props);
  const routes = Object.values(json.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route')
    .map((r) => r.Properties.RouteKey).sort();
  const operations = sam.operations.filter((o) => !o.startsWith('OPTIONS ')).sort();
  assert.deepStrictEqual(routes, operations);
});

test('every entry of parity-allowlist.json is needed and gives its reason', () => {
  for (const [i, d] of ALLOW.differences.entries()) {
    assert.ok(typeof d.reason === 'string' && d.reason.length > 20, `entry ${i} (${d.fact}) gives no reason`);
    // Both sides pinned: an entry without them would take any value of its fact.
    assert.ok('sam' in d && 'cdk' in d, `entry ${i} (${d.fact}) pins no values`);
    assert.ok(used.has(i), `entry ${i} (${d.fact}) matches no difference: remove it`);
  }
});
