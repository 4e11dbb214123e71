/**
 * credentials.*: the credential badge. Browser-safe statuses only (server/credentials/status.ts):
 * secret material never leaves the server.
 */
import { credentialBadgeStatuses } from '../../credentials/status.ts'
import { createTRPCRouter, protectedProcedure } from '../trpc.ts'

export const credentialsRouter = createTRPCRouter({
  /** the X509 proxy and bearer token found in the usual places: kind, subject/issuer, expiry, time left, scopes/audience */
  status: protectedProcedure.query(() => credentialBadgeStatuses()),
})
