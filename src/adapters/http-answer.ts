/** @module Describes an HTTP answer that is not the JSON an adapter expected, without quoting more than a page title. */
import { redactSecretShapes } from "../core/errors.ts";

/**
 * A short description of an answer that is not the JSON expected: its content type and, for an
 * HTML page, its title or first heading (what a proxy's error page says), capped, or the JSON type.
 */
export function describeAnswer(data: unknown, contentType: string | null | undefined, scrub: (text: string) => string = (t) => t): string {
  const type = (contentType ?? "").split(";")[0]?.trim() || "no content type";
  if (typeof data === "string") {
    if (data.trim() === "") return `an empty ${type} body`;
    const title = /<title[^>]*>([^<]*)</i.exec(data)?.[1] ?? /<h1[^>]*>([^<]*)</i.exec(data)?.[1];
    const html = /<[a-z!]/i.test(data);
    // An HTML page without title or heading: its visible text, scripts and styles left out.
    const visible = html ? data.replace(/<(script|style)\b[\s\S]*?<\/\1>/gi, " ").replace(/<[^>]*>/g, " ") : data;
    const text = redactSecretShapes(scrub(title ?? visible)).replace(/\s+/g, " ").trim().slice(0, 60);
    const parsesAsJson = /json/i.test(type);
    return `${parsesAsJson ? `${type} that does not parse as JSON` : type}${text ? ` (${JSON.stringify(text)})` : ""}`;
  }
  if (data === null || data === undefined) return `an empty ${type} body`;
  if (Array.isArray(data)) return `a JSON array`;
  if (typeof data === "object") return "a JSON object without the expected fields";
  return `a JSON ${typeof data}`;
}
