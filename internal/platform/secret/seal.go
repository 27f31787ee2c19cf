package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
)

// Seal encrypts plain with AES-256-GCM under a key derived (HKDF-SHA256)
// from a secret the client holds and Nimbus does not keep, such as an
// Idempotency-Key. scope binds the key to its owner and purpose names the
// use, so that no two uses share a key. Only someone who sends the same
// secret again can Open the result: a reader of the database cannot.
func Seal(clientSecret, scope, purpose string, plain []byte) []byte {
	gcm := sealCipher(clientSecret, scope, purpose)
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return gcm.Seal(nonce, nonce, plain, nil)
}

// Open decrypts what Seal sealed with the same secret, scope and purpose.
func Open(clientSecret, scope, purpose string, sealed []byte) ([]byte, error) {
	gcm := sealCipher(clientSecret, scope, purpose)
	if len(sealed) < gcm.NonceSize() {
		return nil, errors.New("secret: sealed data too short")
	}
	return gcm.Open(nil, sealed[:gcm.NonceSize()], sealed[gcm.NonceSize():], nil)
}

func sealCipher(clientSecret, scope, purpose string) cipher.AEAD {
	key, err := hkdf.Key(sha256.New, []byte(clientSecret), []byte(scope), purpose, 32)
	if err != nil {
		panic(err) // only for impossible lengths
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}
