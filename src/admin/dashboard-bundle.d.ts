/** The dashboard's bundled browser script (scripts/build-dashboard.mjs; see dashboard-script.ts). */
declare module "*/dist/dashboard/script.js" {
	const script: string;
	export default script;
}
