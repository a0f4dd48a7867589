/**
 * The slice of jStat (https://github.com/jstat/jstat) that Switchyard calls.
 * jStat ships no type declarations; these cover exactly the functions used.
 */
declare module "jstat" {
	interface JStatStatic {
		/** Regularised incomplete beta function I_x(a, b). */
		ibeta(x: number, a: number, b: number): number;
		/** ln Γ(x), Lanczos approximation. */
		gammaln(x: number): number;
		normal: {
			inv(p: number, mean: number, std: number): number;
		};
		studentt: {
			inv(p: number, dof: number): number;
		};
	}
	const jStatModule: { jStat: JStatStatic };
	export default jStatModule;
}
