/**
 * The aws-lambda auth step (spec/serverless.md §6.1), run on the request
 * the FaaS engine built:
 *
 * 1. the client sent no `x-api-key` and `authorization.apikey` is set →
 *    send `x-api-key: <apikey>`, nothing else (even with `iam` set);
 * 2. the client sent its own `Authorization`, or there is no
 *    `authorization.iam` → send the request as it is;
 * 3. otherwise sign it with SigV4, the way AWS verifies it: the query is
 *    replaced by its canonical form (so the query sent *is* the query
 *    signed), `x-amz-date` and `x-amz-content-sha256` are added, and the
 *    request goes out exactly as signed.
 */
import type { ArgValue } from '../../http/args.js';
import type { Authorizer, OutgoingRequest } from '../faas/index.js';
import { canonicalQuery, type QueryPair } from './canonical.js';
import { SigV4Signer, amzDate, payloadHash } from './sigv4.js';

/** `authorization` of an aws-lambda configuration (defaults filled by the schema). */
export interface AwsLambdaAuthorization {
  readonly apikey?: string;
  readonly iam?: {
    readonly accesskey: string;
    readonly secretkey: string;
    readonly aws_region: string;
    readonly service: string;
  };
}

/** Decoded arguments as signing pairs: each value of a repeated name, `''` for a bare `?flag`. */
function* argPairs(args: ReadonlyMap<string, readonly ArgValue[]>): Iterable<QueryPair> {
  for (const [name, values] of args) {
    for (const value of values) yield [name, value === true ? '' : value];
  }
}

/**
 * Sign `request` in place (step 3), at the moment `now`.
 *
 * @example
 *   signRequest(request, signer, new Date());
 *   request.headers.authorization; // 'AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/execute-api/aws4_request, ...'
 */
export function signRequest(request: OutgoingRequest, signer: SigV4Signer, now: Date): void {
  const date = amzDate(now);
  const hash = payloadHash(request.body);
  request.query = canonicalQuery(argPairs(request.args));
  const headers = request.headers;
  headers['x-amz-date'] = date;
  // Signed and sent, so a verifier that reads the payload hash from this
  // header (S3-style) and one that hashes the body agree; a value the
  // client sent would otherwise be signed while not matching the body.
  headers['x-amz-content-sha256'] = hash;
  headers.authorization = signer.sign({ method: request.method, path: request.path, query: request.query, headers, payloadHash: hash }, date).authorization;
}

/**
 * The auth step of one configuration, or undefined when it has no
 * `authorization` (the request is then sent as built).
 *
 * @example
 *   const authorize = awsAuthorizer({ iam: { accesskey: 'AKID', secretkey: 's', aws_region: 'us-east-1', service: 'execute-api' } });
 */
export function awsAuthorizer(authorization: AwsLambdaAuthorization | undefined, clock: () => Date = () => new Date()): Authorizer | undefined {
  if (authorization === undefined) return undefined;
  const { apikey, iam } = authorization;
  const signer = iam === undefined
    ? undefined
    : new SigV4Signer({ accessKeyId: iam.accesskey, secretAccessKey: iam.secretkey }, { region: iam.aws_region, service: iam.service });
  if (apikey === undefined && signer === undefined) return undefined;
  return (request) => {
    const headers = request.headers;
    if (apikey !== undefined && headers['x-api-key'] === undefined) {
      headers['x-api-key'] = apikey;
      return;
    }
    if (signer === undefined || headers.authorization !== undefined) return;
    signRequest(request, signer, clock());
  };
}
