/**
 * DOM helpers: elements built from plain values, text always as text nodes
 * (never HTML), so nothing the API returns can inject markup.
 *
 * Children are added with `appendChild`, not `append`: this code is checked
 * with the Workers types beside the DOM's (it imports the admin API's type),
 * and their HTMLRewriter `Element.append` hides the DOM's.
 */

const SVG_NS = "http://www.w3.org/2000/svg";

/** The one element a selector names; a missing one is a bug in the page, not a state to handle. */
export function $<E extends Element = HTMLElement>(selector: string): E {
	const node = document.querySelector<E>(selector);
	if (!node) throw new Error(`the page has no ${selector}`);
	return node;
}

type AttributeValue = string | number | boolean | null | undefined;
/** Attributes by name (false, null and undefined left out; true as ""); `onclick` takes a handler. */
export type Attributes = Record<string, AttributeValue | ((event: MouseEvent) => void)>;
export type Child = Node | string | number | null | undefined | false | readonly Child[];

/** Adds children in order: nodes as they are, anything else as text. */
export function add(node: Node, ...children: readonly Child[]): void {
	for (const child of children) {
		if (child === null || child === undefined || child === false) continue;
		if (Array.isArray(child)) add(node, ...child);
		else node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
	}
}

/** An HTML element with attributes, a click handler and children. */
export function el(tag: string, attributes: Attributes = {}, ...children: Child[]): HTMLElement {
	const node = document.createElement(tag);
	for (const [name, value] of Object.entries(attributes)) {
		if (value === undefined || value === null || value === false) continue;
		if (typeof value === "function") {
			if (name === "onclick") node.addEventListener("click", value);
			continue;
		}
		node.setAttribute(name, value === true ? "" : String(value));
	}
	add(node, ...children);
	return node;
}

/** An SVG element with attributes and an optional text. */
export function svg(
	tag: string,
	attributes: Record<string, string | number> = {},
	text?: string,
): SVGElement {
	const node = document.createElementNS(SVG_NS, tag);
	for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
	if (text !== undefined) node.textContent = text;
	return node;
}
