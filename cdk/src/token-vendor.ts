import {
  Duration, Fn, RemovalPolicy, SecretValue, Stack, Token, Validations,
  aws_apigatewayv2 as apigw,
  aws_apigatewayv2_authorizers as authorizers,
  aws_apigatewayv2_integrations as integrations,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as actions,
  aws_dynamodb as dynamodb,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sns_subscriptions as subscriptions,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { DASHBOARD_BODY, PARAMETER_VARIABLES, ResourceVariable } from './from-template';
import { resolveProps } from './validate';


/** Whose identity a signed token is for when no JWT authorizer is set. */
export enum IdentityMode {
  /** The JWT authorizer's `sub`, else a random one per token (the default). */
  CALLER = 'caller',
  /** Without an authorizer, the identity the request names: this trusts the caller. */
  REQUEST = 'request',
}

/** What the function does when a DynamoDB table it checks cannot be used. */
export enum FailMode {
  /** Serve, log an error and count it in a metric. */
  OPEN = 'open',
  /** Answer 503. */
  CLOSED = 'closed',
}

/** X-Ray tracing of the function. */
export enum TracingMode {
  /** Trace only invocations that arrive sampled: behind an HTTP API, none (the default). */
  PASS_THROUGH = 'PassThrough',
  /** Sample and send traces (X-Ray charges apply). */
  ACTIVE = 'Active',
}

/**
 * Props of {@link TokenVendor}: template.yaml's parameters in camelCase,
 * with the same defaults and the same checks (a value the template or the
 * function would refuse is refused at synth, naming the prop). Lists are
 * arrays where the template takes comma-separated strings.
 */
export interface TokenVendorProps {
  /**
   * The function's code: the zip `cargo lambda build --release --arm64
   * --output-format zip --bin token-vendor` writes, e.g.
   * `lambda.Code.fromAsset('target/lambda/token-vendor/bootstrap.zip')`.
   */
  readonly code: lambda.Code;

  /**
   * Exact browser origins allowed to call the API (`https://app.example.com`),
   * or `['*']`. Used by API Gateway's CORS configuration and by the function.
   */
  readonly allowedOrigins: string[];

  /**
   * Sceenic CAS base URL (https, no query or fragment); the vendor calls
   * `<casUrl>/stream/token/v2/` for `GET`/`POST /token`.
   * @default - CAS off (`/token` answers 501)
   */
  readonly casUrl?: string;

  /**
   * AIPIX media server base URL (https), called for `/streams/{stream}/token`.
   * @default - AIPIX off
   */
  readonly aipixUrl?: string;

  /**
   * Stream ids a caller may ask AIPIX tokens for, or `['*']`. Required with `aipixUrl`.
   * @default - none
   */
  readonly aipixStreams?: string[];

  /**
   * AIPIX rights a caller may ask for, of `live`, `dvr`, `copy`.
   * @default ['live']
   */
  readonly aipixRights?: string[];

  /**
   * Longest AIPIX token lifetime a caller may ask for, in whole seconds.
   * @default 3600
   */
  readonly aipixMaxTtl?: number;

  /**
   * AIPIX lifetime when the caller asks for none, in seconds, at most `aipixMaxTtl`.
   * @default - min(3600, aipixMaxTtl)
   */
  readonly aipixDefaultTtl?: number;

  /**
   * Whether a caller may ask for an AIPIX token that never expires (ttl=0).
   * @default false
   */
  readonly aipixAllowUnlimited?: boolean;

  /**
   * LiveKit server URL (wss) handed back with every token; tokens are signed
   * in the function for `POST /livekit/token`. The secret then holds
   * `LIVEKIT_API_KEY` and `LIVEKIT_API_SECRET`.
   * @default - LiveKit off
   */
  readonly livekitUrl?: string;

  /**
   * Rooms a caller may ask LiveKit tokens for: names or prefixes ending in
   * `*`, or `['*']`. Required with `livekitUrl`.
   * @default - none
   */
  readonly livekitRooms?: string[];

  /**
   * What a LiveKit participant may do, of `publish`, `subscribe`, `data`.
   * @default ['publish', 'subscribe', 'data']
   */
  readonly livekitGrants?: string[];

  /**
   * Seconds a LiveKit token is good for its first connect, 60 to 86400.
   * @default 600
   */
  readonly livekitTtlSeconds?: number;

  /**
   * Whether a caller may send `room_config` into its LiveKit token (only for trusted callers).
   * @default false
   */
  readonly livekitRoomConfig?: boolean;

  /**
   * Whose identity a LiveKit token carries.
   * @default IdentityMode.CALLER
   */
  readonly livekitIdentity?: IdentityMode;

  /**
   * Agora App ID (32 hex digits, not secret); tokens are signed in the
   * function for `POST /agora/token`. The secret then holds `AGORA_APP_CERTIFICATE`.
   * @default - Agora off
   */
  readonly agoraAppId?: string;

  /**
   * Channels a caller may ask Agora RTC tokens for: names or prefixes ending
   * in `*`, or `['*']`. Required with `agoraAppId`.
   * @default - none
   */
  readonly agoraChannels?: string[];

  /**
   * Agora roles a caller may ask for, of `publisher`, `subscriber`.
   * @default ['publisher', 'subscriber']
   */
  readonly agoraRoles?: string[];

  /**
   * Seconds an Agora token lasts when the caller asks for no expire, 60 to
   * 86400, at most `agoraMaxTtlSeconds`.
   * @default - min(3600, agoraMaxTtlSeconds)
   */
  readonly agoraTtlSeconds?: number;

  /**
   * Longest expire a caller may ask for, 60 to 86400 seconds (a longer one is refused, not shortened).
   * @default 3600
   */
  readonly agoraMaxTtlSeconds?: number;

  /**
   * Whose uid an Agora token is for.
   * @default IdentityMode.CALLER
   */
  readonly agoraIdentity?: IdentityMode;

  /**
   * Twilio account SID (`AC` and 32 hex digits, not secret); tokens are
   * signed in the function for `POST /twilio/token`. The secret then holds
   * `TWILIO_API_KEY_SID` and `TWILIO_API_KEY_SECRET`.
   * @default - Twilio off
   */
  readonly twilioAccountSid?: string;

  /**
   * Rooms a caller may ask Twilio tokens for: names or prefixes ending in
   * `*`, or `['*']`. Required with `twilioAccountSid`.
   * @default - none
   */
  readonly twilioRooms?: string[];

  /**
   * Seconds a Twilio token lasts, 60 to 86400.
   * @default 3600
   */
  readonly twilioTtlSeconds?: number;

  /**
   * Whose identity a Twilio token carries.
   * @default IdentityMode.CALLER
   */
  readonly twilioIdentity?: IdentityMode;

  /**
   * Vonage application ID (a UUID, not secret); client tokens are signed in
   * the function for `POST /vonage/token`. The secret then holds `VONAGE_PRIVATE_KEY`.
   * @default - Vonage off
   */
  readonly vonageApplicationId?: string;

  /**
   * Vonage roles a caller may ask for, of `subscriber`, `publisher`,
   * `publisheronly`, `moderator`.
   * @default ['subscriber', 'publisher']
   */
  readonly vonageRoles?: string[];

  /**
   * Seconds a Vonage token lasts, 60 to 86400.
   * @default 3600
   */
  readonly vonageTtlSeconds?: number;

  /**
   * Whether a caller's `data` goes into its Vonage token's `connection_data`.
   * @default false
   */
  readonly vonageData?: boolean;

  /**
   * Tokens per caller and window, e.g. `20/1h` (units s, m, h, d; 1 s to
   * 7 d), counted in a DynamoDB table created only then.
   * @default - no quota
   */
  readonly quotaPerCaller?: string;

  /**
   * When the quota table cannot be used.
   * @default FailMode.OPEN
   */
  readonly quotaFail?: FailMode;

  /**
   * When the bans table cannot be read.
   * @default FailMode.CLOSED
   */
  readonly bansFail?: FailMode;

  /**
   * Who may call the admin API besides being allowed `execute-api:Invoke` on
   * it: ARNs of callers as API Gateway reports them (`arn:aws:iam::123456789012:user/ops`,
   * `arn:aws:sts::123456789012:assumed-role/Ops/*`), an entry ending in `*` a prefix.
   * @default - any caller whose SigV4-signed call IAM allows
   */
  readonly adminPrincipals?: string[];

  /**
   * Absolute path, in the function's file system, of a PEM file of extra CA
   * certificates for the provider calls (e.g. `/opt/certs/aipix-ca.pem` from `extraCaCertsLayer`).
   * @default - the compiled-in roots only
   */
  readonly extraCaCerts?: string;

  /**
   * A Lambda layer holding the `extraCaCerts` file.
   * @default - no layer
   */
  readonly extraCaCertsLayer?: lambda.ILayerVersion;

  /**
   * An existing secret holding the enabled providers' fields.
   * @default - a new secret with a placeholder value (set it with `aws secretsmanager put-secret-value`)
   */
  readonly existingSecret?: secretsmanager.ISecret;

  /**
   * The customer-managed KMS key that encrypts the secret.
   * @default - the existing secret's `encryptionKey`, else the AWS managed key
   */
  readonly secretKmsKey?: kms.IKey;

  /**
   * Seconds the function uses the keys it read before it reads them again, 1 to 86400.
   * @default 300
   */
  readonly secretMaxAgeSeconds?: number;

  /**
   * Whole-request timeout of one provider call, 1 to 25000 milliseconds.
   * @default 5000
   */
  readonly upstreamTimeoutMs?: number;

  /**
   * Issuer URL of an OIDC provider or Cognito user pool: turns on the JWT
   * authorizer on every token route.
   * @default - no authorizer
   */
  readonly jwtIssuer?: string;

  /**
   * Audiences (client ids) the JWT authorizer accepts. Required with `jwtIssuer`.
   * @default - none
   */
  readonly jwtAudience?: string[];

  /**
   * Steady-state requests per second each route accepts.
   * @default 50
   */
  readonly throttlingRateLimit?: number;

  /**
   * Burst of requests each route accepts.
   * @default 100
   */
  readonly throttlingBurstLimit?: number;

  /**
   * Turn off the token API's default execute-api URL (for a custom domain or CloudFront in front).
   * @default false
   */
  readonly disableExecuteApiEndpoint?: boolean;

  /**
   * Concurrent executions reserved for the function (and its ceiling).
   * @default - none reserved
   */
  readonly reservedConcurrency?: number;

  /**
   * A room whose token expires within this many seconds is renewed by the
   * next PUT, 0 to 86400, below `roomTtlSeconds`.
   * @default 60
   */
  readonly roomRefreshMarginSeconds?: number;

  /**
   * Lifetime of a room whose CAS token carries no exp claim, 60 to 2592000 seconds.
   * @default 86400
   */
  readonly roomTtlSeconds?: number;

  /**
   * Days to keep the function's and the APIs' logs (one of CloudWatch Logs' retention values).
   * @default 30
   */
  readonly logRetentionDays?: number;

  /**
   * CloudWatch namespace of the function's metrics, alarms and dashboard.
   * @default 'TokenVendor'
   */
  readonly metricsNamespace?: string;

  /**
   * E-mail address subscribed to the alarm topic.
   * @default - the topic has no subscription
   */
  readonly alarmEmail?: string;

  /**
   * 5xx answers in 5 minutes that raise an alarm (the function's own, or the HTTP API's).
   * @default 5
   */
  readonly serverErrorsThreshold?: number;

  /**
   * X-Ray tracing of the function.
   * @default TracingMode.PASS_THROUGH
   */
  readonly tracingMode?: TracingMode;
}

/** The HTTP API's access log line (template.yaml's AccessLogSettings). */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  status: '$context.status',
  latencyMs: '$context.responseLatency',
  integrationStatus: '$context.integrationStatus',
  authorizerError: '$context.authorizer.error',
});

/** The token routes (openapi.yaml's paths less the admin ones). */
const TOKEN_ROUTES: Array<[apigw.HttpMethod, string]> = [
  [apigw.HttpMethod.GET, '/token'],
  [apigw.HttpMethod.POST, '/token'],
  [apigw.HttpMethod.POST, '/rooms'],
  [apigw.HttpMethod.GET, '/rooms/{name}'],
  [apigw.HttpMethod.PUT, '/rooms/{name}'],
  [apigw.HttpMethod.GET, '/streams/{stream}/token'],
  [apigw.HttpMethod.POST, '/streams/{stream}/token'],
  [apigw.HttpMethod.POST, '/livekit/token'],
  [apigw.HttpMethod.POST, '/agora/token'],
  [apigw.HttpMethod.POST, '/twilio/token'],
  [apigw.HttpMethod.POST, '/vonage/token'],
];

/** The admin routes, on their own IAM-only API. */
const ADMIN_ROUTES: Array<[apigw.HttpMethod, string]> = [
  [apigw.HttpMethod.GET, '/admin/bans/{identity}'],
  [apigw.HttpMethod.PUT, '/admin/bans/{identity}'],
  [apigw.HttpMethod.DELETE, '/admin/bans/{identity}'],
  [apigw.HttpMethod.DELETE, '/admin/rooms/{name}'],
];

/**
 * token-vendor as template.yaml deploys it: the function, the token HTTP
 * API (CORS, throttling, the optional JWT authorizer), the IAM-only admin
 * API, the secret (or an existing one), the rooms, bans and quota tables,
 * log groups with retention, the alarms, their topic and the dashboard, with
 * the template's least-privilege IAM.
 */
export class TokenVendor extends Construct {
  /** The Lambda function. */
  public readonly function: lambda.Function;
  /** The token HTTP API (CORS, throttling, the optional JWT authorizer). */
  public readonly api: apigw.HttpApi;
  /** The IAM-only admin HTTP API (bans, room ends). */
  public readonly adminApi: apigw.HttpApi;
  /** The secret holding the providers' keys (created, or the one given). */
  public readonly secret: secretsmanager.ISecret;
  /** The DynamoDB table of rooms. */
  public readonly roomsTable: dynamodb.Table;
  /** The DynamoDB table of bans. */
  public readonly bansTable: dynamodb.Table;
  /** The DynamoDB table of quota counts, when `quotaPerCaller` is set. */
  public readonly quotaTable?: dynamodb.Table;
  /** The SNS topic every alarm notifies. */
  public readonly alarmTopic: sns.Topic;
  /** The token API's base URL (`https://<id>.execute-api.<region>.<suffix>/`). */
  public readonly url: string;
  /** The admin API's base URL, IAM only (`.../admin`). */
  public readonly adminUrl: string;

  constructor(scope: Construct, id: string, props: TokenVendorProps) {
    super(scope, id);
    const { values: v, unresolved } = resolveProps(props as unknown as { [name: string]: unknown });
    const num = (p: string) => (unresolved.has(p) ? Token.asNumber(v[p]) : Number(v[p]));
    const list = (p: string) => (unresolved.has(p) ? Fn.split(',', v[p]) : v[p].split(','));
    if (props.extraCaCertsLayer && !props.extraCaCerts) {
      throw new Error('TokenVendor: extraCaCerts (the file\'s path, e.g. /opt/certs/aipix-ca.pem) is required with extraCaCertsLayer');
    }
    const logRetention = num('LogRetentionDays') as logs.RetentionDays;

    // The secret: a placeholder the operator replaces, kept when the stack goes.
    const secretKmsKey = props.secretKmsKey ?? props.existingSecret?.encryptionKey;
    let secret: secretsmanager.ISecret;
    if (props.existingSecret) {
      secret = props.existingSecret;
    } else {
      secret = new secretsmanager.Secret(this, 'CasSecret', {
        description: 'token-vendor CAS credentials (replace the placeholder with put-secret-value)',
        encryptionKey: props.secretKmsKey,
        secretStringValue: SecretValue.unsafePlainText(
          '{"API_KEY": "REPLACE_ME", "API_SECRET": "REPLACE_ME", "AIPIX_API_TOKEN": "REPLACE_ME"}'),
        removalPolicy: RemovalPolicy.RETAIN,
      });
    }
    this.secret = secret;

    const table = (name: string, key: string, keep: boolean) => new dynamodb.Table(this, name, {
      partitionKey: { name: key, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: keep ? { pointInTimeRecoveryEnabled: true } : undefined,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: keep ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // Rooms and bans are kept when the stack goes (an operator's decisions
    // outlive it); quota counts are not.
    this.roomsTable = table('RoomsTable', 'room', true);
    this.quotaTable = v.QuotaPerCaller !== '' ? table('QuotaTable', 'pk', false) : undefined;
    this.bansTable = table('BansTable', 'id', true);

    const logGroup = (name: string) => new logs.LogGroup(this, name, {
      retention: logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const functionLogGroup = logGroup('FunctionLogGroup');
    const apiAccessLogGroup = logGroup('ApiAccessLogGroup');
    const adminApiAccessLogGroup = logGroup('AdminApiAccessLogGroup');

    // Least privilege, statement by statement as template.yaml's; the logs
    // statement stands for SAM's AWSLambdaBasicExecutionRole, narrowed to
    // the function's own log group.
    const secretResource = secret.secretFullArn ?? `${secret.secretArn}-??????`;
    const statements = [
      new iam.PolicyStatement({
        sid: 'WriteItsOwnLogsOnly',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [functionLogGroup.logGroupArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadTheCasSecretOnly',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretResource],
      }),
      new iam.PolicyStatement({
        sid: 'ReadAndWriteRoomsOnly',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [this.roomsTable.tableArn],
      }),
      new iam.PolicyStatement({
        sid: 'ReadAndWriteBansOnly',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [this.bansTable.tableArn],
      }),
    ];
    if (this.quotaTable) {
      statements.push(new iam.PolicyStatement({
        sid: 'CountInTheQuotaTableOnly',
        actions: ['dynamodb:UpdateItem'],
        resources: [this.quotaTable.tableArn],
      }));
    }
    if (secretKmsKey) {
      statements.push(new iam.PolicyStatement({
        sid: 'DecryptTheCasSecret',
        actions: ['kms:Decrypt'],
        resources: [secretKmsKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      }));
    }
    const role = new iam.Role(this, 'TokenVendorFunctionRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: { TokenVendorFunctionRolePolicy0: new iam.PolicyDocument({ statements }) },
    });

    // The variables that name a resource: exactly template.yaml's
    // (ResourceVariable is generated from it; a missing or extra one does not compile).
    const resourceVariables: Record<ResourceVariable, string> = {
      SECRET_ID: secret.secretArn,
      ROOMS_TABLE: this.roomsTable.tableName,
      QUOTA_TABLE: this.quotaTable ? this.quotaTable.tableName : '',
      BANS_TABLE: this.bansTable.tableName,
    };

    // 128 MB and 15 s, as template.yaml says why.
    const tracing = v.TracingMode === TracingMode.ACTIVE ? lambda.Tracing.ACTIVE : lambda.Tracing.PASS_THROUGH;
    this.function = new lambda.Function(this, 'TokenVendorFunction', {
      code: props.code,
      handler: 'bootstrap',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 128,
      timeout: Duration.seconds(15),
      role,
      layers: props.extraCaCertsLayer ? [props.extraCaCertsLayer] : undefined,
      reservedConcurrentExecutions: v.ReservedConcurrency === '' ? undefined : num('ReservedConcurrency'),
      tracing,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup: functionLogGroup,
      environment: {
        // Every variable the template sets from a parameter, as the parameter's value.
        ...Object.fromEntries(Object.entries(PARAMETER_VARIABLES).map(([variable, parameter]) => [variable, v[parameter]])),
        ...resourceVariables,
      },
    });
    Validations.of(this.function).acknowledge(
      {
        id: 'Serverless::Serverless-LambdaDLQ',
        reason: 'API Gateway invokes the function synchronously and the caller gets its answer (a JSON error included); a dead-letter target applies to asynchronous invocations only, of which there are none.',
      },
    );
    // The role's default policy, made by lambda.Function for tracing.
    Validations.of(role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'The only statement on * is the one lambda.Function adds for tracing, xray:PutTraceSegments and xray:PutTelemetryRecords, which X-Ray grants on * only (no resource-level permissions).',
    });
    if (tracing !== lambda.Tracing.ACTIVE) {
      Validations.of(this.function).acknowledge({
        id: 'Serverless::Serverless-LambdaTracing',
        reason: 'PassThrough is the default, as template.yaml\'s TracingMode: an HTTP API sends no X-Ray trace header, so Active would sample every cold and warm request at X-Ray\'s price; the request log and the metrics record carry the trace id either way. tracingMode: TracingMode.ACTIVE turns it on.',
      });
    }
    if (!props.existingSecret) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions::AwsSolutions-SMG4',
        reason: 'The secret holds keys the providers issue (CAS, AIPIX, LiveKit, Agora, Twilio, Vonage): a rotation Lambda cannot mint them, so they are rotated at the provider and written with put-secret-value; the function re-reads the secret every secretMaxAgeSeconds and on a refused key (docs/operating.md, rotation).',
      });
    }
    if (this.quotaTable) {
      Validations.of(this.quotaTable).acknowledge({
        id: 'AwsSolutions::AwsSolutions-DDB3',
        reason: 'The quota table holds only counts per caller and window, each gone with its window (TTL); there is nothing to restore, so it has no point-in-time recovery (the rooms and bans tables have it).',
      });
    }

    // The token API. API Gateway answers the CORS preflights; the function
    // still refuses foreign origins (docs/http-api.md).
    const throttle = { rateLimit: num('ThrottlingRateLimit'), burstLimit: num('ThrottlingBurstLimit') };
    this.api = new apigw.HttpApi(this, 'TokenApi', {
      createDefaultStage: false,
      disableExecuteApiEndpoint: v.DisableExecuteApiEndpoint === 'true',
      corsPreflight: {
        allowOrigins: list('AllowedOrigins'),
        allowMethods: [apigw.CorsHttpMethod.GET, apigw.CorsHttpMethod.POST, apigw.CorsHttpMethod.PUT,
          apigw.CorsHttpMethod.OPTIONS],
        allowHeaders: ['content-type', 'authorization'],
        exposeHeaders: ['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset'],
        maxAge: Duration.seconds(600),
      },
    });
    const tokenStage = this.stage('TokenApiDefaultStage', this.api, throttle, apiAccessLogGroup);
    const authorizer = v.JwtIssuer === '' ? undefined : new authorizers.HttpJwtAuthorizer('jwt', v.JwtIssuer, {
      jwtAudience: list('JwtAudience'),
      identitySource: ['$request.header.Authorization'],
    });
    const integration = () => new integrations.HttpLambdaIntegration('TokenVendorFunction', this.function, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      timeout: Duration.millis(29000),
    });
    const tokenIntegration = integration();
    for (const [method, path] of TOKEN_ROUTES) {
      for (const route of this.api.addRoutes({ path, methods: [method], integration: tokenIntegration, authorizer })) {
        if (!authorizer) {
          Validations.of(route).acknowledge({
            id: 'AwsSolutions::AwsSolutions-APIG4',
            reason: 'Without jwtIssuer the token routes are public, as template.yaml\'s are: a page asks for a token before anyone signs in. The function still refuses foreign origins, counts quotaPerCaller per source IP and issues no identity a caller chose (unless an *Identity prop says request). Set jwtIssuer to authorize every token route.',
          });
        }
      }
    }

    // The admin API: no CORS, no JWT authorizer, every route IAM-authorized.
    this.adminApi = new apigw.HttpApi(this, 'AdminApi', {
      description: 'token-vendor admin routes (IAM only)',
      createDefaultStage: false,
      defaultAuthorizer: new authorizers.HttpIamAuthorizer(),
    });
    const adminStage = this.stage('AdminApiDefaultStage', this.adminApi, throttle, adminApiAccessLogGroup);
    const adminIntegration = integration();
    for (const [method, path] of ADMIN_ROUTES) {
      this.adminApi.addRoutes({ path, methods: [method], integration: adminIntegration });
    }
    this.url = tokenStage.url;
    this.adminUrl = `${adminStage.url}admin`;

    // Alarms: every one notifies the topic, in alarm and back to OK.
    // Publishers over TLS only (AlarmTopicPolicy in template.yaml).
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', { displayName: 'token-vendor alarms', enforceSSL: true });
    if (v.AlarmEmail !== '') {
      this.alarmTopic.addSubscription(new subscriptions.EmailSubscription(v.AlarmEmail));
      Validations.of(this.alarmTopic).acknowledge({
        id: 'Serverless::Serverless-SNSRedrivePolicy',
        reason: 'The one subscription is the alarmEmail address: SNS retries e-mail delivery itself, and a dead-letter queue of alarm mails would be read by nobody; the alarms keep their state in CloudWatch.',
      });
    }
    const ns = v.MetricsNamespace;
    const serverErrorsThreshold = num('ServerErrorsThreshold');
    const alarm = (name: string, description: string, metric: cloudwatch.IMetric, threshold: number) => {
      const a = new cloudwatch.Alarm(this, name, {
        alarmDescription: description,
        metric,
        evaluationPeriods: 1,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      a.addAlarmAction(new actions.SnsAction(this.alarmTopic));
      a.addOkAction(new actions.SnsAction(this.alarmTopic));
      return a;
    };
    const own = (metricName: string, minutes: number) => new cloudwatch.Metric({
      namespace: ns, metricName, statistic: 'Sum', period: Duration.minutes(minutes),
    });
    const serverErrors = alarm('ServerErrorsAlarm',
      'token-vendor answered 5xx (all routes) at least ServerErrorsThreshold times in 5 minutes. Look at ErrorCode in the records (docs/operating.md, Alarms).',
      own('ServerErrors', 5), serverErrorsThreshold);
    const credentials = alarm('CredentialsUnavailableAlarm',
      'The provider\'s credentials are unusable (secret unreadable, incomplete or refused by the provider). Check the secret\'s last rotation (docs/operating.md, Alarms).',
      own('CredentialsUnavailable', 1), 1);
    if (this.quotaTable) {
      alarm('QuotaBypassedAlarm',
        'Requests were served without their quota count (the quota table failed or throttled and QuotaFail is open). Look at the log\'s "quota store unusable" lines (docs/operating.md, Alarms).',
        own('QuotaBypassed', 5), 1);
    }
    const bans = alarm('BansUnavailableAlarm',
      'The bans table could not be read or written in time (BansFail closed - token requests answered 503 bans_unavailable; open - they were served unchecked). Look at the log\'s ERROR lines with bans_unavailable or "bans table unusable" (docs/operating.md, Alarms).',
      own('BansUnavailable', 5), 1);
    const lambdaMetric = (metricName: string) => new cloudwatch.Metric({
      namespace: 'AWS/Lambda', metricName, statistic: 'Sum', period: Duration.minutes(5),
      dimensionsMap: { FunctionName: this.function.functionName },
    });
    const functionErrors = alarm('FunctionErrorsAlarm',
      'The token-vendor function failed invocations (init error, crash or timeout); its log group says which.',
      lambdaMetric('Errors'), 1);
    const functionThrottles = alarm('FunctionThrottlesAlarm',
      'Lambda throttled token-vendor invocations (account or reserved concurrency reached); those callers got an API Gateway error instead of a token.',
      lambdaMetric('Throttles'), 1);
    const api5xx = alarm('Api5xxAlarm',
      'The HTTP API answered 5xx at least ServerErrorsThreshold times in 5 minutes.',
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway', metricName: '5xx', statistic: 'Sum', period: Duration.minutes(5),
        dimensionsMap: { ApiId: this.api.apiId, Stage: '$default' },
      }), serverErrorsThreshold);

    new cloudwatch.CfnDashboard(this, 'Dashboard', {
      dashboardBody: Fn.sub(DASHBOARD_BODY, {
        Ns: ns,
        TokenApi: this.api.apiId,
        TokenVendorFunction: this.function.functionName,
        ServerErrorsAlarmArn: serverErrors.alarmArn,
        CredentialsUnavailableAlarmArn: credentials.alarmArn,
        FunctionErrorsAlarmArn: functionErrors.alarmArn,
        FunctionThrottlesAlarmArn: functionThrottles.alarmArn,
        Api5xxAlarmArn: api5xx.alarmArn,
        BansUnavailableAlarmArn: bans.alarmArn,
      }),
    });
  }

  private stage(id: string, api: apigw.HttpApi, throttle: apigw.ThrottleSettings, logGroup: logs.LogGroup) {
    const stage = new apigw.HttpStage(this, id, {
      httpApi: api,
      stageName: '$default',
      autoDeploy: true,
      throttle,
    });
    const cfn = stage.node.defaultChild as apigw.CfnStage;
    cfn.accessLogSettings = { destinationArn: logGroup.logGroupArn, format: ACCESS_LOG_FORMAT };
    return stage;
  }
}
