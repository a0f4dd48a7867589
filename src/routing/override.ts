/**
 * QA override: `x-switchyard-variant: champion|candidate` pins a request to a
 * variant, but only with `Authorization: Bearer <ADMIN_TOKEN>` (compared in
 * constant time). Without a valid token the header is ignored.
 */
import { timingSafeEqual } from "hono/utils/buffer";
import type { Variant } from "./assign";
import { VARIANT_OVERRIDE_HEADER } from "./headers";

export async function variantOverride(
	headers: Headers,
	adminToken: string,
): Promise<Variant | null> {
	const requested = headers.get(VARIANT_OVERRIDE_HEADER);
	if (requested !== "champion" && requested !== "candidate") return null;
	const authorization = headers.get("authorization") ?? "";
	const match = /^Bearer\s+(\S+)$/i.exec(authorization);
	if (!match || !adminToken) return null;
	return (await timingSafeEqual(match[1] ?? "", adminToken)) ? requested : null;
}
