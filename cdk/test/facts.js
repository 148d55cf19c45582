// What the parity test compares: each side's template (SAM-translated
// template.yaml with its parameters resolved, or the synthesized construct)
// reduced to named facts, resources named by their template logical id or
// the construct's child id (the construct names its children as the
// template names its resources).
'use strict';

const PSEUDO = {
  'AWS::Region': 'us-east-1', 'AWS::AccountId': '123456789012', 'AWS::Partition': 'aws',
  'AWS::URLSuffix': 'amazonaws.com', 'AWS::StackName': '<stack>',
};
const NO_VALUE = Symbol('NoValue');
// Resources the SAM transform names itself, as the construct names them.
const SAM_ALIASES = {
  TokenApiApiGatewayDefaultStage: 'TokenApiDefaultStage',
  AdminApiApiGatewayDefaultStage: 'AdminApiDefaultStage',
};

/** Resolves a template's intrinsics as CloudFormation would, given parameters and resource names. */
function resolver({ params = {}, conditions = {}, nameOf }) {
  const condition = (name) => value(conditions[name]);
  function sub(text, vars) {
    return text.replace(/\$\{([^}!]+)\}/g, (_, expr) => {
      if (vars && expr in vars) return String(vars[expr]);
      if (expr in PSEUDO) return PSEUDO[expr];
      if (expr in params) return String(params[expr]);
      const [id, attr] = expr.split('.');
      return attr ? `<${nameOf(id)}.${attr}>` : `<${nameOf(id)}>`;
    });
  }
  function value(node) {
    if (Array.isArray(node)) return node.map(value).filter((v) => v !== NO_VALUE);
    if (node === null || typeof node !== 'object') return node;
    const keys = Object.keys(node);
    if (keys.length === 1) {
      const [k] = keys;
      const a = node[k];
      switch (k) {
        case 'Ref':
          if (a === 'AWS::NoValue') return NO_VALUE;
          if (a in PSEUDO) return PSEUDO[a];
          if (a in params) return params[a];
          return `<${nameOf(a)}>`;
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(a) ? a : a.split('.');
          return `<${nameOf(id)}.${attr}>`;
        }
        case 'Fn::If':
          return value(condition(a[0]) ? a[1] : a[2]);
        case 'Fn::Equals': {
          const [x, y] = value(a);
          return JSON.stringify(x) === JSON.stringify(y);
        }
        case 'Fn::Not':
          return !value(a[0]);
        case 'Fn::And':
          return a.every((c) => value(c));
        case 'Fn::Or':
          return a.some((c) => value(c));
        case 'Condition':
          return condition(a);
        case 'Fn::Join': {
          const parts = value(a[1]);
          return (Array.isArray(parts) ? parts : [parts]).join(a[0]);
        }
        case 'Fn::Split': {
          const s = value(a[1]);
          return typeof s === 'string' ? s.split(a[0]) : s;
        }
        case 'Fn::Sub': {
          if (typeof a === 'string') return sub(a);
          const vars = {};
          for (const [n, v] of Object.entries(a[1])) vars[n] = value(v);
          return sub(a[0], vars);
        }
        default:
      }
    }
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      const r = value(v);
      if (r !== NO_VALUE) out[k] = r;
    }
    return out;
  }
  return { value, condition };
}

const sortedStrings = (x) => (Array.isArray(x) ? [...x].map(String).sort() : x === undefined ? [] : [String(x)]);
const lowerKeys = (o) => Object.fromEntries(Object.entries(o || {}).map(([k, v]) => [k[0].toLowerCase() + k.slice(1), v]));

function add(facts, key, value) {
  facts[key] = JSON.stringify(value === undefined ? null : value);
}

/** The facts of a resolved template: { resources: {name: resource}, routes: [...] }. */
function facts({ resources, routes, cors, authorizers, managedPolicies = {} }) {
  const f = {};
  const byType = (type) => Object.entries(resources).filter(([, r]) => r.Type === type);
  const counts = {};
  for (const r of Object.values(resources)) counts[r.Type] = (counts[r.Type] || 0) + 1;
  for (const [type, n] of Object.entries(counts)) add(f, `type ${type}`, n);

  for (const [name, r] of byType('AWS::Lambda::Function')) {
    const p = r.Properties;
    for (const k of ['Runtime', 'Handler', 'Architectures', 'MemorySize', 'Timeout', 'TracingConfig', 'LoggingConfig',
      'Layers', 'ReservedConcurrentExecutions', 'Role']) {
      const numeric = ['MemorySize', 'Timeout', 'ReservedConcurrentExecutions'].includes(k) && p[k] !== undefined;
      add(f, `function ${name} ${k}`, numeric ? Number(p[k]) : p[k]);
    }
    for (const [k, v] of Object.entries(p.Environment.Variables)) add(f, `env ${k}`, v);
  }

  // IAM: the actions each resource is granted, over inline policies,
  // attached policies and managed policies (expanded from their documents).
  const grants = {};
  // Each statement as "Effect:action" (or "Effect:not:action"), with its
  // condition when it has one, on each resource ("not:" for NotResource).
  const grant = (statement) => {
    const resources = statement.NotResource !== undefined
      ? sortedStrings(statement.NotResource).map((r) => `not:${r}`) : sortedStrings(statement.Resource);
    const actions = statement.NotAction !== undefined
      ? sortedStrings(statement.NotAction).map((a) => `not:${a}`) : sortedStrings(statement.Action);
    const condition = statement.Condition ? ` if ${JSON.stringify(statement.Condition)}` : '';
    const principal = statement.Principal !== undefined ? ` by ${JSON.stringify(statement.Principal)}` : '';
    for (const res of resources) {
      grants[res] = grants[res] || new Set();
      for (const a of actions) grants[res].add(`${statement.Effect}:${a}${principal}${condition}`);
    }
  };
  for (const [, r] of byType('AWS::IAM::Role')) {
    for (const p of r.Properties.Policies || []) p.PolicyDocument.Statement.forEach(grant);
    for (const arn of r.Properties.ManagedPolicyArns || []) {
      if (!managedPolicies[arn]) throw new Error(`no document for the managed policy ${arn} (parity-allowlist.json's managedPolicies)`);
      managedPolicies[arn].forEach(grant);
    }
  }
  for (const [, r] of byType('AWS::IAM::Policy')) r.Properties.PolicyDocument.Statement.forEach(grant);
  for (const [res, actions] of Object.entries(grants)) add(f, `iam ${res}`, [...actions].sort());

  // Resource policies: who may invoke the function, who may publish to the topic.
  add(f, 'lambda permissions', Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Permission')
    .map((r) => `${r.Properties.Principal} ${r.Properties.Action} ${String(r.Properties.FunctionName).replace(/\.Arn>$/, '>')} from ${r.Properties.SourceArn}`)
    .sort());
  for (const [, r] of byType('AWS::SNS::TopicPolicy')) {
    const statements = r.Properties.PolicyDocument.Statement.map((st) => Object.fromEntries(Object.entries(st).sort()));
    add(f, `topic policy ${r.Properties.Topics.join(',')}`, statements);
  }

  for (const route of routes) add(f, `route ${route.api} ${route.key}`, route.settings);
  for (const [api, c] of Object.entries(cors)) add(f, `cors ${api}`, c);
  for (const [name, a] of Object.entries(authorizers)) add(f, `authorizer ${name}`, a);

  for (const [name, r] of byType('AWS::ApiGatewayV2::Api')) {
    // SAM writes it into the OpenAPI body (servers[0]), CloudFormation's L1 as a property.
    const server = r.Properties.Body?.servers?.[0]?.['x-amazon-apigateway-endpoint-configuration'];
    add(f, `api ${name} DisableExecuteApiEndpoint`,
      r.Properties.DisableExecuteApiEndpoint ?? server?.disableExecuteApiEndpoint ?? false);
  }
  for (const [name, r] of byType('AWS::ApiGatewayV2::Stage')) {
    const p = r.Properties;
    add(f, `stage ${name}`, {
      api: p.ApiId, StageName: p.StageName, AutoDeploy: p.AutoDeploy,
      throttle: [Number(p.DefaultRouteSettings?.ThrottlingRateLimit), Number(p.DefaultRouteSettings?.ThrottlingBurstLimit)],
      AccessLogSettings: p.AccessLogSettings,
    });
  }
  for (const [name, r] of byType('AWS::CloudWatch::Alarm')) {
    const p = r.Properties;
    add(f, `alarm ${name}`, {
      Namespace: p.Namespace, MetricName: p.MetricName, Statistic: p.Statistic, Period: Number(p.Period),
      EvaluationPeriods: Number(p.EvaluationPeriods), Threshold: Number(p.Threshold),
      ComparisonOperator: p.ComparisonOperator, TreatMissingData: p.TreatMissingData,
      Dimensions: (p.Dimensions || []).map((d) => `${d.Name}=${d.Value}`).sort(),
      AlarmActions: p.AlarmActions, OKActions: p.OKActions, AlarmDescription: p.AlarmDescription,
    });
  }
  for (const [name, r] of byType('AWS::DynamoDB::Table')) {
    const p = r.Properties;
    add(f, `table ${name}`, {
      KeySchema: p.KeySchema, AttributeDefinitions: p.AttributeDefinitions, BillingMode: p.BillingMode,
      TimeToLiveSpecification: p.TimeToLiveSpecification,
      PointInTimeRecovery: p.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled ?? false,
      SSESpecification: p.SSESpecification, DeletionPolicy: r.DeletionPolicy, UpdateReplacePolicy: r.UpdateReplacePolicy,
    });
  }
  for (const [name, r] of byType('AWS::Logs::LogGroup')) {
    add(f, `log group ${name}`, {
      RetentionInDays: Number(r.Properties.RetentionInDays), DeletionPolicy: r.DeletionPolicy,
      UpdateReplacePolicy: r.UpdateReplacePolicy,
    });
  }
  for (const [name, r] of byType('AWS::SecretsManager::Secret')) {
    const p = r.Properties;
    add(f, `secret ${name}`, {
      Description: p.Description, KmsKeyId: p.KmsKeyId, SecretString: p.SecretString,
      DeletionPolicy: r.DeletionPolicy, UpdateReplacePolicy: r.UpdateReplacePolicy,
    });
  }
  for (const [name, r] of byType('AWS::SNS::Topic')) add(f, `topic ${name}`, r.Properties.DisplayName);
  for (const [, r] of byType('AWS::SNS::Subscription')) {
    add(f, 'subscription', { TopicArn: r.Properties.TopicArn, Protocol: r.Properties.Protocol, Endpoint: r.Properties.Endpoint });
  }
  for (const [name, r] of byType('AWS::CloudWatch::Dashboard')) {
    add(f, `dashboard ${name} body`, JSON.parse(r.Properties.DashboardBody));
    add(f, `dashboard ${name} DashboardName`, r.Properties.DashboardName);
  }
  return f;
}

/** template.yaml, SAM-translated, resolved with parameter values. */
function samFacts(sam, parameterValues, managedPolicies) {
  const { template, parameters } = sam;
  const params = {};
  for (const [name, spec] of Object.entries(parameters)) {
    let v = name in parameterValues ? parameterValues[name] : spec.Default;
    if (v === undefined) throw new Error(`parameter ${name} has no default: give it`);
    v = String(v);
    params[name] = spec.Type === 'CommaDelimitedList' ? v.split(',') : v;
  }
  const nameOf = (id) => SAM_ALIASES[id] || id;
  const { value, condition } = resolver({ params, conditions: template.Conditions, nameOf });
  const resources = {};
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Condition && !condition(r.Condition)) continue;
    resources[nameOf(id)] = value(r);
  }
  const routes = [];
  const cors = {};
  const authorizers = {};
  for (const [api, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::ApiGatewayV2::Api') continue;
    const body = r.Properties.Body;
    if (body['x-amazon-apigateway-cors']) cors[api] = body['x-amazon-apigateway-cors'];
    for (const [name, scheme] of Object.entries(body.components?.securitySchemes || {})) {
      const a = scheme['x-amazon-apigateway-authorizer'];
      if (a && a.type === 'jwt') {
        authorizers[name] = { identitySource: sortedStrings(a.identitySource), issuer: a.jwtConfiguration.issuer,
          audience: sortedStrings(a.jwtConfiguration.audience) };
      }
    }
    for (const [path, item] of Object.entries(body.paths)) {
      for (const [method, op] of Object.entries(item)) {
        const security = (op.security || []).flatMap((s) => Object.keys(s));
        const integration = op['x-amazon-apigateway-integration'];
        routes.push({ api, key: `${method.toUpperCase()} ${path}`, settings: {
          auth: security.includes('jwt') ? 'JWT' : security.includes('AWS_IAM') ? 'AWS_IAM' : 'NONE',
          payloadFormatVersion: integration.payloadFormatVersion, timeoutInMillis: Number(integration.timeoutInMillis),
          target: integration.uri.match(/<(\w+)\.Arn>/)[1],
        } });
      }
    }
  }
  return facts({ resources, routes, cors: normalizeCors(cors), authorizers, managedPolicies });
}

function normalizeCors(cors) {
  const out = {};
  for (const [api, c] of Object.entries(cors)) {
    const l = lowerKeys(c);
    out[api] = {
      allowOrigins: sortedStrings(l.allowOrigins), allowMethods: sortedStrings(l.allowMethods),
      allowHeaders: sortedStrings(l.allowHeaders), exposeHeaders: sortedStrings(l.exposeHeaders),
      maxAge: Number(l.maxAge), allowCredentials: l.allowCredentials ?? false,
    };
  }
  return out;
}

/** The synthesized construct, resources named by their child id under it. */
function cdkFacts(json, paths) {
  // Routes, integrations and permissions are many per API (deeper in the
  // tree): they keep their logical ids.
  const nameOf = (id) => {
    const p = paths[id];
    if (!p || p.split('/').length > 2) return id;
    return p.split('/')[0];
  };
  const { value } = resolver({ nameOf });
  const resources = {};
  const raw = {};
  for (const [id, r] of Object.entries(json.Resources)) {
    if (!paths[id]) continue; // outside the construct (none but the placeholder code's)
    raw[id] = value(r);
    resources[nameOf(id)] = raw[id];
  }
  const routes = [];
  const cors = {};
  const authorizers = {};
  for (const r of Object.values(raw)) {
    const p = r.Properties;
    if (r.Type === 'AWS::ApiGatewayV2::Route') {
      const ip = raw[p.Target.replace(/^integrations\/<(.*)>$/, '$1')].Properties;
      routes.push({ api: p.ApiId.replace(/^<|>$/g, ''), key: p.RouteKey, settings: {
        auth: p.AuthorizationType, payloadFormatVersion: ip.PayloadFormatVersion, timeoutInMillis: Number(ip.TimeoutInMillis),
        target: ip.IntegrationUri.match(/<(\w+)\.Arn>/)[1],
      } });
    }
    if (r.Type === 'AWS::ApiGatewayV2::Api' && p.CorsConfiguration) {
      cors[Object.keys(resources).find((k) => resources[k] === r)] = p.CorsConfiguration;
    }
    if (r.Type === 'AWS::ApiGatewayV2::Authorizer') {
      authorizers[p.Name] = { identitySource: sortedStrings(p.IdentitySource), issuer: p.JwtConfiguration.Issuer,
        audience: sortedStrings(p.JwtConfiguration.Audience) };
    }
  }
  return facts({ resources, routes, cors: normalizeCors(cors), authorizers });
}

module.exports = { samFacts, cdkFacts };
