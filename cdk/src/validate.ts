import { Fn, Token } from 'aws-cdk-lib';
import { TEMPLATE_PARAMETERS } from './from-template';

/**
 * How a prop becomes its template parameter's value: the string
 * CloudFormation would be given, so that the template's own checks apply.
 */
type Kind = 'string' | 'list' | 'number' | 'boolean';

/** Props that mirror a template parameter: prop name, parameter, kind. */
export const MIRRORED: ReadonlyArray<[string, string, Kind]> = [
  ['casUrl', 'CasUrl', 'string'],
  ['aipixUrl', 'AipixUrl', 'string'],
  ['aipixStreams', 'AipixStreams', 'list'],
  ['aipixRights', 'AipixRights', 'list'],
  ['aipixMaxTtl', 'AipixMaxTtl', 'number'],
  ['aipixDefaultTtl', 'AipixDefaultTtl', 'number'],
  ['aipixAllowUnlimited', 'AipixAllowUnlimited', 'boolean'],
  ['livekitUrl', 'LiveKitUrl', 'string'],
  ['livekitRooms', 'LiveKitRooms', 'list'],
  ['livekitGrants', 'LiveKitGrants', 'list'],
  ['livekitTtlSeconds', 'LiveKitTtlSeconds', 'number'],
  ['livekitRoomConfig', 'LiveKitRoomConfig', 'boolean'],
  ['livekitIdentity', 'LiveKitIdentity', 'string'],
  ['agoraAppId', 'AgoraAppId', 'string'],
  ['agoraChannels', 'AgoraChannels', 'list'],
  ['agoraRoles', 'AgoraRoles', 'list'],
  ['agoraTtlSeconds', 'AgoraTtlSeconds', 'number'],
  ['agoraMaxTtlSeconds', 'AgoraMaxTtlSeconds', 'number'],
  ['agoraIdentity', 'AgoraIdentity', 'string'],
  ['twilioAccountSid', 'TwilioAccountSid', 'string'],
  ['twilioRooms', 'TwilioRooms', 'list'],
  ['twilioTtlSeconds', 'TwilioTtlSeconds', 'number'],
  ['twilioIdentity', 'TwilioIdentity', 'string'],
  ['vonageApplicationId', 'VonageApplicationId', 'string'],
  ['vonageRoles', 'VonageRoles', 'list'],
  ['vonageTtlSeconds', 'VonageTtlSeconds', 'number'],
  ['vonageData', 'VonageData', 'boolean'],
  ['quotaPerCaller', 'QuotaPerCaller', 'string'],
  ['quotaFail', 'QuotaFail', 'string'],
  ['bansFail', 'BansFail', 'string'],
  ['adminPrincipals', 'AdminPrincipals', 'list'],
  ['extraCaCerts', 'ExtraCaCerts', 'string'],
  ['allowedOrigins', 'AllowedOrigins', 'list'],
  ['secretMaxAgeSeconds', 'SecretMaxAgeSeconds', 'number'],
  ['upstreamTimeoutMs', 'UpstreamTimeoutMs', 'number'],
  ['jwtIssuer', 'JwtIssuer', 'string'],
  ['jwtAudience', 'JwtAudience', 'list'],
  ['throttlingRateLimit', 'ThrottlingRateLimit', 'number'],
  ['throttlingBurstLimit', 'ThrottlingBurstLimit', 'number'],
  ['disableExecuteApiEndpoint', 'DisableExecuteApiEndpoint', 'boolean'],
  ['reservedConcurrency', 'ReservedConcurrency', 'number'],
  ['roomRefreshMarginSeconds', 'RoomRefreshMarginSeconds', 'number'],
  ['roomTtlSeconds', 'RoomTtlSeconds', 'number'],
  ['logRetentionDays', 'LogRetentionDays', 'number'],
  ['metricsNamespace', 'MetricsNamespace', 'string'],
  ['alarmEmail', 'AlarmEmail', 'string'],
  ['serverErrorsThreshold', 'ServerErrorsThreshold', 'number'],
  ['tracingMode', 'TracingMode', 'string'],
];

/**
 * Parameters whose value decides which resources or settings are made, so
 * that they must be known at synth (a CfnParameter cannot stand for them).
 */
const DECIDES_RESOURCES = ['QuotaPerCaller', 'JwtIssuer', 'AlarmEmail', 'ReservedConcurrency', 'TracingMode',
  'DisableExecuteApiEndpoint'];

/** CloudFormation's Number: an integer or a decimal. */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The values the template would be deployed with, each as its parameter's
 * string (defaults filled in), or the problems that refuse them. A prop that
 * is an unresolved token (a CfnParameter, say) is passed through unchecked:
 * CloudFormation checks it at deploy time only if it is the template's own
 * parameter.
 */
export interface Resolved {
  readonly values: { [parameter: string]: string };
  readonly unresolved: Set<string>;
}

function takes(parameter: string, value: string): boolean {
  const spec = TEMPLATE_PARAMETERS[parameter];
  if (spec.allowedValues && !spec.allowedValues.includes(value)) return false;
  if (spec.type === 'Number') {
    if (!NUMBER.test(value)) return false;
    const n = Number(value);
    return (spec.minValue ?? n) <= n && n <= (spec.maxValue ?? n);
  }
  // CloudFormation's patterns are Java's; the template's are written so
  // that a JavaScript RegExp (no u flag: \s and \d as Java's) reads them alike.
  if (spec.allowedPattern && !new RegExp(spec.allowedPattern).test(value)) return false;
  return (spec.minLength ?? 0) <= value.length && value.length <= (spec.maxLength ?? value.length);
}

function whatIsTaken(parameter: string): string {
  const spec = TEMPLATE_PARAMETERS[parameter];
  if (spec.constraintDescription) return spec.constraintDescription;
  if (spec.allowedValues) return 'one of ' + spec.allowedValues.join(', ');
  if (spec.type === 'Number') return 'a number' + (spec.minValue !== undefined ? ' of at least ' + spec.minValue : '');
  return 'a value matching ' + spec.allowedPattern;
}

/** A refused value as the error shows it: a URL's user information (a password, say) left out. */
function shown(value: string): string {
  const s = JSON.stringify(value.replace(/:\/\/[^/?#]*@/, '://***@'));
  return s.length > 80 ? s.slice(0, 77) + '..."' : s;
}

/**
 * Checks props as the template and the binary would: every mirrored prop
 * against its parameter's pattern, values or bounds; the template's rules;
 * and the pairs the binary compares at start that CloudFormation cannot.
 * Throws one error naming every refused prop.
 */
export function resolveProps(props: { [name: string]: unknown }): Resolved {
  const values: { [parameter: string]: string } = {};
  const unresolved = new Set<string>();
  const problems: string[] = [];
  const propOf: { [parameter: string]: string } = {};
  for (const [prop, parameter, kind] of MIRRORED) {
    propOf[parameter] = prop;
    const given = props[prop];
    const spec = TEMPLATE_PARAMETERS[parameter];
    if (given === undefined || given === null) {
      if (spec.default === undefined) {
        problems.push(`${prop} is required (${whatIsTaken(parameter)})`);
        continue;
      }
      values[parameter] = spec.default;
      continue;
    }
    if (Token.isUnresolved(given) || (Array.isArray(given) && given.some((v) => Token.isUnresolved(v)))) {
      if (DECIDES_RESOURCES.includes(parameter)) {
        problems.push(`${prop} cannot be a token: it decides which resources are made`);
        continue;
      }
      values[parameter] = Array.isArray(given) ? Fn.join(',', given.map(String)) : Token.asString(given);
      unresolved.add(parameter);
      continue;
    }
    // As the template's parameter reads it: a list comma-joined (an array's String).
    const value = String(given);
    if (kind === 'number' && (typeof given !== 'number' || !Number.isFinite(given))) {
      problems.push(`${prop}: ${shown(value)} is not a number`);
      continue;
    }
    if (!takes(parameter, value)) {
      problems.push(`${prop}: ${shown(value)} is refused (${whatIsTaken(parameter)})`);
      continue;
    }
    values[parameter] = value;
  }
  const set = (parameter: string) => unresolved.has(parameter) || (values[parameter] ?? '') !== '';
  // The template's Rules.
  const providers = ['CasUrl', 'AipixUrl', 'LiveKitUrl', 'AgoraAppId', 'TwilioAccountSid', 'VonageApplicationId'];
  if (!providers.some(set)) {
    problems.push(`set ${providers.map((p) => propOf[p]).join(', ')} or any of them`);
  }
  const requiredWith: Array<[string, string]> = [
    ['LiveKitRooms', 'LiveKitUrl'],
    ['AgoraChannels', 'AgoraAppId'],
    ['TwilioRooms', 'TwilioAccountSid'],
    ['AipixStreams', 'AipixUrl'],
    ['JwtAudience', 'JwtIssuer'],
  ];
  for (const [needed, by] of requiredWith) {
    if (set(by) && !set(needed) && values[needed] !== undefined) {
      problems.push(`${propOf[needed]} is required when ${propOf[by]} is set`);
    }
  }
  // What the binary compares at start (CloudFormation's rules compare no numbers).
  const pairs: Array<[string, string, (a: number, b: number) => boolean, string]> = [
    ['RoomRefreshMarginSeconds', 'RoomTtlSeconds', (a, b) => a < b, 'below'],
    ['AipixDefaultTtl', 'AipixMaxTtl', (a, b) => a <= b, 'at most'],
    ['AgoraTtlSeconds', 'AgoraMaxTtlSeconds', (a, b) => a <= b, 'at most'],
  ];
  for (const [a, b, ok, relation] of pairs) {
    const [x, y] = [values[a], values[b]];
    if (x && y && !unresolved.has(a) && !unresolved.has(b) && !ok(Number(x), Number(y))) {
      problems.push(`${propOf[a]} (${x}) must be ${relation} ${propOf[b]} (${y})`);
    }
  }
  if (problems.length > 0) {
    throw new Error('TokenVendor: ' + problems.join('; '));
  }
  return { values, unresolved };
}
