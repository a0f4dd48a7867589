/**
 * Admin authentication: `Authorization: Bearer <ADMIN_TOKEN>` through hono's
 * bearer-auth, compared in constant time. An unset ADMIN_TOKEN locks the
 * admin API instead of opening it.
 */
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { AppEnv } from "../types";

export const adminAuth: MiddlewareHandler<AppEnv> = bearerAuth({
	realm: "switchyard",
	verifyToken: async (token, c) => {
		const expected: string = c.env.ADMIN_TOKEN ?? "";
		return expected.length > 0 && (await timingSafeEqual(token, expected));
	},
});
