/**
 * The server's side of the binary WebSocket messages: the layout itself lives in
 * @lipsync/proto/ws-binary (shared with the client SDK, which decodes them; frames are encoded from
 * the server's lipsync.v1 Frame); here a malformed message becomes the server's INVALID_ARGUMENT.
 */
import { BinaryFormatError, decodeRequest, type BinaryRequest } from "@lipsync/proto/ws-binary";
import { invalidArgument } from "../errors.js";

export { encodeError, encodeFrame, encodeSourceFrame, type BinaryRequest } from "@lipsync/proto/ws-binary";

export function decodeBinaryRequest(bytes: Uint8Array): BinaryRequest {
  try {
    return decodeRequest(bytes);
  } catch (err) {
    throw err instanceof BinaryFormatError ? invalidArgument(err.message) : err;
  }
}
