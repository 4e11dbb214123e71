export { TRPCReactProvider, useTRPC, useTRPCClient, httpStatusOf } from './client'
