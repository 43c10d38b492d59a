// Package wxcrypt implements WeChat's "WXBizMsgCrypt" message encryption, as
// used for pushes from WeChat to a third-party platform (component verify
// tickets, authorization changes, mini program audit results) and for
// encrypted replies.
//
// The scheme, in brief:
//
//   - The AES key is base64(EncodingAESKey + "="): 43 alphanumerics give 32
//     bytes, so the cipher is AES-256-CBC with IV = key[:16].
//   - The plaintext is random(16) || uint32_be(len(msg)) || msg || appid,
//     PKCS#7-padded to a 32-byte (not 16-byte) block, and the ciphertext is
//     sent as standard base64 in an <Encrypt> element.
//   - msg_signature = hex(sha1(sorted(token, timestamp, nonce, Encrypt)
//     joined without separator)). There is no MAC: the signature and the
//     trailing appid are the only integrity checks, so receivers must verify
//     both (OpenPush does).
//
// A push travels as an outer XML envelope, <xml><ToUserName>…</ToUserName>
// <Encrypt>…</Encrypt></xml> for the message-and-event URL or <xml><AppId>…
// </AppId><Encrypt>…</Encrypt></xml> for the authorization-event URL, with
// timestamp, nonce, encrypt_type=aes, msg_signature and signature in the URL
// query. SealPush builds one (the server playing WeChat), OpenPush checks and
// opens one (the platform side). The inner XML types (ComponentVerifyTicket,
// AuthorizationEvent, AuditEvent, and the catch-all Message) write string
// fields as CDATA, as WeChat does.
//
// A Crypter may also hold the previous EncodingAESKey; decryption tries the
// current key and then the previous one, so a key rotation does not drop
// pushes that were encrypted just before it.
package wxcrypt
