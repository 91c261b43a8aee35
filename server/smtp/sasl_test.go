package smtp

import "github.com/emersion/go-sasl"

func plainAuth(user, pass string) sasl.Client { return sasl.NewPlainClient("", user, pass) }
