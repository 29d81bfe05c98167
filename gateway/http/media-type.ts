/** The media type of a Content-Type or Accept item, lower case, without parameters: `Application/JSON; charset=utf-8` → `application/json`. */
export function mediaType(header: string | undefined): string {
  if (!header) return "";
  const semi = header.indexOf(";");
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase();
}

/** Whether an Accept header admits `type` (exact, `type/*` or `*\/*`). */
export function accepts(header: string | undefined, type: string): boolean {
  if (!header) return true;
  const [major] = type.split("/");
  return header.split(",").some((item) => {
    const t = mediaType(item);
    return t === type || t === "*/*" || t === `${major}/*`;
  });
}
