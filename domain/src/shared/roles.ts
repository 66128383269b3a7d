import { z } from 'zod';
import type { UserId } from './ids.js';

/** Roles are ordered: each one may do everything the one before it may. */
export const ROLES = ['operator', 'supervisor', 'admin'] as const;
export const roleSchema = z.enum(ROLES);
export type Role = z.infer<typeof roleSchema>;

const rank: Record<Role, number> = { operator: 0, supervisor: 1, admin: 2 };

export const roleAllows = (actual: Role, required: Role): boolean => rank[actual] >= rank[required];

/** Who a command runs as. Comes from the authenticated session, never from the payload. */
export interface Actor {
  readonly userId: UserId;
  readonly role: Role;
}
