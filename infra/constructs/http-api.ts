import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import { CorsHttpMethod, HttpApi, HttpMethod, HttpNoneAuthorizer, HttpRoute, HttpRouteKey, HttpStage, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { behindJwtAuthorizer, budgetsOf } from '../../shared/api/define.js';
import { requestBudgetDefaults, type RequestBudget } from '../../shared/registries.js';
import { cors } from '../../shared/cors.js';
import { fallbackRoute, preflightRoute, routes, type Route } from '../../shared/routes.js';
import { ServiceFunction } from './service-function.js';

export interface ServiceApiProps {
  table: ITable;
  queue: IQueue;
  secret: ISecret;
  /** The audit exports' bucket, for the routes that sign their downloads. */
  exportBucket: IBucket;
  jwtIssuer: string;
  jwtAudience: string[];
  /** Steady-state requests per second and burst for the whole stage. */
  throttle: { rateLimit: number; burstLimit: number };
  /** The console's origin: the only one CORS allows. */
  consoleOrigin: string;
  /** Each org's default request budgets per second, when not the functions' own defaults (shared/config.ts). */
  orgRateLimits?: Partial<Record<RequestBudget, number>>;
}


const pascal = (name: string) => name.replace(/(^|-)(\w)/g, (_, _sep: string, c: string) => c.toUpperCase());

/**
 * The HTTP API, made from the route table: one function per route, the JWT authorizer on every
 * route with a scope (scopes are checked by the handlers, so errors stay problem+json), and a
 * $default route whose function answers 404 or 405. Access logs as JSON; stage throttling.
 */
export class ServiceApi extends Construct {
  readonly api: HttpApi;
  readonly functions = new Map<string, ServiceFunction>();

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    const authorizer = new HttpJwtAuthorizer('Jwt', props.jwtIssuer, { jwtAudience: props.jwtAudience });
    this.api = new HttpApi(this, 'Api', {
      createDefaultStage: false,
      description: 'OAuth Usage service',
      corsPreflight: {
        allowOrigins: [props.consoleOrigin],
        allowMethods: cors.allowMethods.map((m) => CorsHttpMethod[m]),
        allowHeaders: [...cors.allowHeaders],
        exposeHeaders: [...cors.exposeHeaders],
        maxAge: Duration.seconds(cors.maxAgeSeconds),
      },
    });
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    new HttpStage(this, 'Stage', {
      httpApi: this.api,
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
    });

    const functionFor = (route: Pick<Route, 'handler' | 'table' | 'enqueues' | 'exportFiles' | 'authenticate' | 'scopes' | 'budget'>) => {
      const spent = budgetsOf(route);
      const environment = {
        // A function that verifies bearer JWTs itself does it as the authorizer does, with its issuer and audiences.
        ...(route.authenticate ? { JWT_ISSUER: props.jwtIssuer, JWT_AUDIENCE: props.jwtAudience.join(',') } : {}),
        ...(route.handler === preflightRoute.handler ? { CONSOLE_ORIGINS: props.consoleOrigin } : {}),
        // The defaults of the budgets it spends, when the stack was given them.
        ...Object.fromEntries(spent.filter((b) => props.orgRateLimits?.[b] !== undefined).map((b) => [requestBudgetDefaults[b].variable, String(props.orgRateLimits?.[b])])),
      };
      const fn = new ServiceFunction(this, pascal(route.handler), {
        entry: `http/${route.handler}`,
        ...(route.table === 'none' ? {} : { secret: props.secret }),
        ...(Object.keys(environment).length > 0 ? { environment } : {}),
        timeout: Duration.seconds(10),
      });
      if (route.table !== 'none') fn.bindTable(props.table, route.table);
      // A read-only function that spends a budget still reports to its org's request window.
      if (spent.length > 0 && route.table !== 'RW') fn.bindRateWindows(props.table);
      if (route.enqueues) fn.bindQueue(props.queue);
      if (route.exportFiles) fn.bindExportFiles(props.exportBucket, route.exportFiles);
      this.functions.set(route.handler, fn);
      return fn;
    };

    const publicRoute = (route: HttpRoute, why: string) => Validations.of(route).acknowledge({ id: 'AwsSolutions::AwsSolutions-APIG4', reason: why });
    for (const route of Object.values(routes as Record<string, Route>)) {
      const httpRoute = new HttpRoute(this, `${route.method}${pascal(route.handler)}`, {
        httpApi: this.api,
        routeKey: HttpRouteKey.with(route.path, HttpMethod[route.method]),
        integration: new HttpLambdaIntegration(`${pascal(route.handler)}Integration`, functionFor(route)),
        authorizer: behindJwtAuthorizer(route) ? authorizer : new HttpNoneAuthorizer(),
      });
      if (route.public) publicRoute(httpRoute, `Public by contract (${route.public}): ${route.method} ${route.path} holds no org data.`);
      else if (route.authenticate) publicRoute(httpRoute, `${route.method} ${route.path} verifies its callers itself (credentials the JWT authorizer cannot check).`);
    }
    // Unknown paths and methods need a valid token as well: without one, API Gateway answers 401
    // itself and no function runs; with one, the $default function answers 404 or 405.
    new HttpRoute(this, 'Default', {
      httpApi: this.api,
      routeKey: HttpRouteKey.DEFAULT,
      integration: new HttpLambdaIntegration('NotFoundIntegration', functionFor(fallbackRoute)),
      authorizer,
    });
    // The browser's preflight carries no token: with the authorizer on $default it would be a 401.
    // AWS documents the fix: an OPTIONS /{proxy+} route without authorization (and an integration).
    const preflight = new HttpRoute(this, 'OptionsCorsPreflight', {
      httpApi: this.api,
      routeKey: HttpRouteKey.with('/{proxy+}', HttpMethod.OPTIONS),
      integration: new HttpLambdaIntegration('CorsPreflightIntegration', functionFor(preflightRoute)),
      authorizer: new HttpNoneAuthorizer(),
    });
    publicRoute(preflight, 'Public by contract (cors-preflight): browsers send preflights without a token; it answers 204 and holds no data.');
    new CfnOutput(this, 'Url', { value: this.api.apiEndpoint, description: 'Base URL of the API' });
  }
}
