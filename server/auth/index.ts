export {
  authMode,
  authenticate,
  localUserName,
  cookieName,
  tokenCookieValue,
  createSessionValue,
  csrfProblem,
  crossSiteProblem,
  isValidToken,
  type AuthMode,
  type AuthUser,
  type AuthResult,
  type RequestLike,
} from './core.ts'
export { ensureToken, currentToken, tokenFile, safeEqual } from './secrets.ts'
export { hashPassword, verifyPassword, loadUsers, checkLogin, type UserEntry } from './users.ts'
