package dkim

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strings"
)

// GenerateKey makes a new signing key: "rsa" (2048 bits, RFC 8301) or
// "ed25519" (RFC 8463).
func GenerateKey(typ string) (crypto.Signer, error) {
	switch typ {
	case "rsa", "":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "ed25519":
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("dkim: unknown key type %q (want rsa or ed25519)", typ)
}

// MarshalKey encodes a private key as PEM: PKCS#1 for RSA (what OpenDKIM
// and dkimpy read), PKCS#8 for Ed25519.
func MarshalKey(k crypto.Signer) ([]byte, error) {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), nil
	case ed25519.PrivateKey:
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, err
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
	}
	return nil, fmt.Errorf("dkim: cannot encode key of type %T", k)
}

// RecordValue returns the key record text to publish (RFC 6376 section
// 3.6.1): "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or, for Ed25519,
// "v=DKIM1; k=ed25519; p=<32-byte key>" (RFC 8463 section 4).
func RecordValue(pub crypto.PublicKey) (string, error) {
	var der []byte
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		var err error
		if der, err = x509.MarshalPKIXPublicKey(pub); err != nil {
			return "", err
		}
	case ed25519.PublicKey:
		der = pub
	default:
		return "", fmt.Errorf("dkim: no record format for key type %T", pub)
	}
	return "v=DKIM1; k=" + keyAlgorithm(pub) + "; p=" + base64.StdEncoding.EncodeToString(der), nil
}

// TXTRecord returns the master-file line to publish for a key:
// `selector._domainkey.domain. IN TXT "..." "..."`, the value split into
// character-strings of at most 255 bytes (RFC 1035 section 3.3; verifiers
// join them, RFC 6376 section 3.6.2.2).
func TXTRecord(domain, selector string, pub crypto.PublicKey) (string, error) {
	v, err := RecordValue(pub)
	if err != nil {
		return "", err
	}
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	parts = append(parts, `"`+v+`"`)
	name := selector + "._domainkey." + strings.TrimSuffix(strings.ToLower(domain), ".") + "."
	return name + " IN TXT " + strings.Join(parts, " "), nil
}
