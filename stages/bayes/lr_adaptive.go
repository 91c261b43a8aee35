package bayes

import "math"

// Adaptive gives each weight of the regression its own step size, as
// AdaGrad does (Duchi, Hazan & Singer 2011) in its dual-averaging form,
// which is McMahan's FTRL with the regulariser centred at 0: each feature
// keeps z, the sum of its gradients (towards spam), and n, the sum of
// their squares, and its weight is Alpha × (z shrunk by L1) / (Beta + √n).
// A feature seen in many messages takes ever smaller steps; a rare one
// keeps large ones.
//
// Both sums are sums over the messages learnt, so a message's whole
// contribution is still one number per message, its gradient g (the same
// for each of its features, all binary and scaled alike): unlearning it
// subtracts g and g² and the weights are what they would be had it never
// been learnt. With Beta much larger than every √n the weight is
// Alpha/Beta × z: the plain step of rate Alpha/Beta.
type Adaptive struct {
	Alpha float64 // 0: off, the plain global rate
	Beta  float64
	L1    float64
	// Floor is a global rate added to every feature's: the weight is
	// z × (Floor + Alpha / (Beta + √n)), a rate that falls from
	// Floor + Alpha/Beta towards Floor as the feature is seen.
	Floor float64
	// Prox is McMahan's FTRL-proximal proper: z also takes σ·w, which
	// depends on the weight at the time, so a message's contribution is
	// no longer one number and unlearning is not exact. Measured only.
	Prox bool
}

// On reports whether the steps are per feature.
func (a Adaptive) On() bool { return a.Alpha > 0 }

// weight is a feature's weight from its two sums.
func (a Adaptive) weight(z, n float32) float32 {
	zz := float64(z)
	if math.Abs(zz) <= a.L1 {
		return 0
	}
	zz -= math.Copysign(a.L1, zz)
	return float32(zz * (a.Floor + a.Alpha/(a.Beta+math.Sqrt(math.Max(float64(n), 0)))))
}

// adaStep adds dir × g to the gradient sums of features (dir 1 to learn, −1
// to take a learn back) and sets their weights anew.
func (st *state) adaStep(features []uint32, g float32, dir float32, a Adaptive) {
	if st.w == nil {
		st.w = make([]float32, 1<<lrBits)
	}
	if st.z == nil {
		st.z = make([]float32, 1<<lrBits)
		st.n = make([]float32, 1<<lrBits)
	}
	for _, f := range features {
		f &= 1<<lrBits - 1
		n := st.n[f] + dir*g*g
		if a.Prox && dir > 0 {
			sigma := (math.Sqrt(float64(n)) - math.Sqrt(float64(st.n[f]))) / a.Alpha
			st.z[f] += float32(sigma * float64(st.w[f]))
		}
		st.z[f] += dir * g
		st.n[f] = max(n, 0)
		st.w[f] = a.weight(st.z[f], st.n[f])
	}
}
