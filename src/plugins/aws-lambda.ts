/**
 * aws-lambda (APISIX `apisix/plugins/aws-lambda.lua`): calls an AWS Lambda
 * function through API Gateway, a Lambda function URL (or the Invoke API)
 * with the shared FaaS engine, and relays its answer (spec/serverless.md
 * §3 and §6, spec/serverless-platforms.md §4).
 *
 * Auth (§6.1, `aws/authorize.ts`): an API Gateway key in `x-api-key`, or an
 * AWS Signature Version 4 over the request as sent. The signature follows
 * what AWS verifies rather than APISIX's signer (`aws/canonical.ts` lists
 * the differences), so paths with a trailing `/` or reserved characters and
 * headers with inner spaces verify on AWS. Long-term keys only: no
 * session token (`X-Amz-Security-Token`).
 */
import { defineFaasPlugin, type FaasConf } from './faas/index.js';
import { awsAuthorizer, type AwsLambdaAuthorization } from './aws/authorize.js';

export const AWS_LAMBDA_PRIORITY = -1899;

/**
 * @example
 *   // route: { "uri": "/aws/*", "plugins": { "aws-lambda": {
 *   //   "function_uri": "https://abc123.execute-api.us-east-1.amazonaws.com/default",
 *   //   "authorization": { "iam": { "accesskey": "AKID...", "secretkey": "..." } } } } }
 *   // GET /aws/fn?a=1 → signed GET https://abc123.execute-api.us-east-1.amazonaws.com/default/fn?a=1
 */
export default defineFaasPlugin<FaasConf>({
  name: 'aws-lambda',
  version: '0.1',
  priority: AWS_LAMBDA_PRIORITY,
  authorizationSchema: {
    type: 'object',
    properties: {
      // API Gateway API key, sent as x-api-key.
      apikey: { type: 'string' },
      // IAM credentials for SigV4.
      iam: {
        type: 'object',
        properties: {
          accesskey: { type: 'string', description: 'access key id' },
          secretkey: { type: 'string', description: 'secret access key' },
          aws_region: { type: 'string', default: 'us-east-1' },
          // `execute-api` for API Gateway, `lambda` for function URLs and the Invoke API.
          service: { type: 'string', default: 'execute-api' },
        },
        required: ['accesskey', 'secretkey'],
      },
    },
  },
  encryptFields: ['authorization.apikey', 'authorization.iam.accesskey', 'authorization.iam.secretkey'],
  authorizer(conf) {
    return awsAuthorizer(conf.authorization as AwsLambdaAuthorization | undefined);
  },
});
