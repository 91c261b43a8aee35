package dkim

import (
	"encoding/base64"

	"github.com/sluicemail/sluice/engine"
	"github.com/sluicemail/sluice/stages"
)

func parseHeaderOf(msg string) *engine.Header {
	return engine.NewMessage(engine.Envelope{}, []byte(msg)).Header()
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func stagesSettings(yaml string) stages.Settings { return stages.Settings{Raw: []byte(yaml)} }
