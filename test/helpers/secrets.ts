/** Secrets the test worker runs with (never used outside tests). */
export const TEST_ADMIN_TOKEN = "test-admin-token";
export const TEST_SIGNING_KEY = "test-signing-key-0123456789abcdef";
export const TEST_FEEDBACK_TOKEN = "test-feedback-token-0123456789";
export const TEST_WEBHOOK_SECRET = "test-webhook-secret-0123456789";
export const TEST_BACKEND_KEY = "test-backend-key-0123456789";
