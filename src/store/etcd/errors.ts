/**
 * Failures of the etcd backend. Every one a caller can meet is a
 * {@link StoreUnavailableError} (the Admin API answers 503 with its message,
 * spec/admin-api.md §4.5); the subclasses keep what the backend needs to tell
 * them apart (gRPC status code, endpoint).
 */
import { FngateError } from '../../errors.js';
import { StoreUnavailableError } from '../types.js';

/** gRPC status codes etcd answers with (https://grpc.github.io/grpc/core/md_doc_statuscode.html). */
export const GrpcCode = {
  InvalidArgument: 3,
  DeadlineExceeded: 4,
  PermissionDenied: 7,
  OutOfRange: 11,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;

/** etcd answered, with an error: its message is passed on unchanged (APISIX shows etcd's text). */
export class EtcdServerError extends StoreUnavailableError {
  constructor(
    message: string,
    /** gRPC status code from the gateway's error body, when it sent one. */
    readonly grpcCode: number | undefined,
    /** Origin of the endpoint that answered. */
    readonly endpoint: string,
  ) {
    super(message);
  }

  /** etcd no longer knows our auth token (expired, or auth was re-enabled): authenticate again. */
  get invalidToken(): boolean {
    return this.grpcCode === GrpcCode.Unauthenticated && this.message.includes('invalid auth token');
  }
}

/** No answer from an endpoint: refused, reset, timed out, TLS failure. */
export class EtcdTransportError extends StoreUnavailableError {
  constructor(
    message: string,
    readonly endpoint: string,
    /** The request certainly never reached etcd, so it may be sent elsewhere even if it writes. */
    readonly beforeSend: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** deployment.etcd cannot be used as configured (unreadable TLS file, bad host URL). */
export class EtcdConfigError extends FngateError {
  readonly code = 'ETCD_CONFIG';
}
