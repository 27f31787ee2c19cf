// Package secret makes the random tokens Nimbus hands out (session and
// cart tokens, order access tokens, API key secrets) and the hashes it
// stores in their place.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
)

// encoding is lower-case base32: URL- and cookie-safe, no padding.
var encoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// Len is the length of a token from New.
const Len = 52

// New returns 256 random bits as 52 lower-case base32 characters.
func New() string {
	var b [32]byte
	rand.Read(b[:])
	return encoding.EncodeToString(b[:])
}

// Valid reports whether s looks like a token from New.
func Valid(s string) bool {
	if len(s) != Len {
		return false
	}
	_, err := encoding.DecodeString(s)
	return err == nil
}

// Hash is what is stored instead of a token. A fast hash is right here: the
// token is random, not a password, so it cannot be guessed from its hash.
func Hash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
