/** Types for parse-prometheus-text-format (it ships none): the families of a text exposition. */
declare module "parse-prometheus-text-format" {
	export interface PrometheusSample {
		labels?: Record<string, string>;
		value?: string;
		quantiles?: Record<string, string>;
		buckets?: Record<string, string>;
		count?: string;
		sum?: string;
	}
	export interface PrometheusFamily {
		name: string;
		help: string;
		type: "COUNTER" | "GAUGE" | "SUMMARY" | "HISTOGRAM" | "UNTYPED";
		metrics: PrometheusSample[];
	}
	export default function parsePrometheusTextFormat(text: string): PrometheusFamily[];
}
