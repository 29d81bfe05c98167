/**
 * The `Authorization` value of `client_secret_basic` (RFC 6749 section 2.3.1): client id and secret each
 * form-encoded (application/x-www-form-urlencoded, a space as "+") before the Basic encoding.
 */
export function clientSecretBasic(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString("base64")}`;
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}
