package engine

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// retryPolicy is exponential backoff with jitter, capped: the retry: section of the config.
type retryPolicy struct {
	base, max time.Duration
}

// Delay is the wait before retry number attempt (1 after the first failure): base·2^(attempt-1),
// capped at max, then drawn uniformly from its upper half so that a burst of failures spreads out.
func (p *retryPolicy) Delay(attempt int) time.Duration {
	base, ceiling := p.base, p.max
	if base <= 0 {
		base = 2 * time.Second
	}
	if ceiling <= 0 {
		ceiling = time.Hour
	}
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}

// NextRetry implements river.ClientRetryPolicy.
func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.Delay(job.Attempt))
}
