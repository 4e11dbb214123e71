/**
 * Prints a scrypt hash for a users-mode account (CONTROLROOM_AUTH=users):
 *   echo -n 'the password' | npx tsx server/auth/hash-password.ts
 * then put it in users.json: [{ "name": "alice", "password": "<hash>", "admin": true }]
 */
import { hashPassword } from './users.ts'

const chunks: Buffer[] = []
for await (const c of process.stdin) chunks.push(c as Buffer)
const pw = Buffer.concat(chunks)
  .toString('utf8')
  .replace(/\r?\n$/, '')
process.stdout.write(hashPassword(pw) + '\n')
