/**
 * QA override: `x-switchyard-variant: champion|candidate` (exactly, lowercase)
 * pins a request to a variant, but only with `x-switchyard-token:
 * <ADMIN_TOKEN>` (compared in constant time). Without a valid token the
 * header is ignored. Neither header is ever forwarded, and the token has its
 * own header so `Authorization` stays the model's. Pinned requests are kept
 * out of every analysis.
 */
import { timingSafeEqual } from "hono/utils/buffer";
import type { Variant } from "./assign";
import { QA_TOKEN_HEADER, VARIANT_OVERRIDE_HEADER } from "./headers";

export async function variantOverride(
	headers: Headers,
	adminToken: string,
): Promise<Variant | null> {
	const requested = headers.get(VARIANT_OVERRIDE_HEADER);
	if (requested !== "champion" && requested !== "candidate") return null;
	const token = headers.get(QA_TOKEN_HEADER);
	if (!token || !adminToken) return null;
	return (await timingSafeEqual(token, adminToken)) ? requested : null;
}
