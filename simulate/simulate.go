// Package simulate produces realistic telemetry for every asset of a model
// that has signals: speeds and pressures with noise around nameplate values,
// faults and recoveries, batch and product changes, idle spells and power
// cycles, plus raw device/tag messages through the model's signal map. It is
// what `twingraph dev` feeds the twin with; it writes only to Kafka.
package simulate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/confluentinc/confluent-kafka-go/v2/kafka"

	twin "github.com/twingraph/twingraph"
)

// DefaultRate is the message rate when Config.Rate is not set.
const DefaultRate = 200

// maxSamplePeriod is the longest an asset goes without a message: Run raises
// the rate when the model has too many assets for it.
const maxSamplePeriod = 800 * time.Millisecond

// Config configures Run.
type Config struct {
	// Brokers is the Kafka bootstrap list. Required.
	Brokers string
	// Topic is the telemetry topic; "telemetry" when empty.
	Topic string
	// Model lists the assets to simulate. Required.
	Model twin.Model
	// Rate is messages per second over all assets; DefaultRate when <= 0. It is
	// raised so that every asset gets a message at least every 800 ms.
	Rate float64
	// Seed makes the random walk repeatable.
	Seed int64
	// Logger receives progress logs; nil logs nothing.
	Logger *slog.Logger
}

// Mappings is implemented by models that can list their signal map
// (hierarchy.Model does); the simulator sends raw device/tag telemetry for
// the mapped signals of such models.
type Mappings interface {
	Mappings() []twin.TagMapping
}

// Run produces telemetry until ctx ends, then flushes and returns nil. Every
// message is keyed by asset id, so an asset's telemetry stays on one partition.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Brokers == "" || cfg.Model == nil {
		return errors.New("simulate: brokers and model are required")
	}
	if cfg.Topic == "" {
		cfg.Topic = "telemetry"
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), uint64(cfg.Seed)^0x5eed))
	sims := newSims(cfg.Model, rng)
	if len(sims) == 0 {
		return errors.New("simulate: no asset in the model has signals")
	}
	rate := cfg.Rate
	if rate <= 0 {
		rate = DefaultRate
	}
	rate = max(rate, float64(len(sims))/maxSamplePeriod.Seconds())

	logs := make(chan kafka.LogEvent, 64)
	p, err := kafka.NewProducer(&kafka.ConfigMap{
		"bootstrap.servers":   cfg.Brokers,
		"enable.metrics.push": false,
		"linger.ms":           5,
		// librdkafka's log lines go to the logger, not stderr.
		"go.logs.channel.enable": true,
		"go.logs.channel":        logs,
	})
	if err != nil {
		return fmt.Errorf("simulate: producer: %w", err)
	}
	logsDone := make(chan struct{})
	go func() {
		defer close(logsDone)
		for ev := range logs {
			lv := slog.LevelDebug // syslog levels: 0-3 errors, 4 warnings
			if ev.Level <= 4 {
				lv = slog.LevelWarn
			}
			logger.Log(context.Background(), lv, "kafka client: "+ev.Message, "client", ev.Name)
		}
	}()
	drained := make(chan struct{})
	var failed int64
	go func() {
		defer close(drained)
		for ev := range p.Events() {
			switch e := ev.(type) {
			case *kafka.Message:
				if e.TopicPartition.Error != nil {
					failed++
					if failed == 1 || failed%1000 == 0 {
						logger.Warn("simulated telemetry not delivered", "err", e.TopicPartition.Error, "failed", failed)
					}
				}
			case kafka.Error:
				logger.Debug("simulator producer", "err", e)
			}
		}
	}()
	defer func() {
		p.Flush(5000)
		p.Close()
		<-drained
		close(logs) // Close stopped the forwarding: nothing writes to logs now
		<-logsDone
	}()

	logger.Info("simulator started", "assets", len(sims), "rate", rate, "topic", cfg.Topic)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	last := time.Now()
	budget := 0.0
	next := 0
	var sent int64
	for {
		select {
		case <-ctx.Done():
			logger.Info("simulator stopped", "messages", sent)
			return nil
		case now := <-tick.C:
			budget += rate * now.Sub(last).Seconds()
			last = now
			for ; budget >= 1; budget-- {
				s := sims[next]
				next = (next + 1) % len(sims)
				value := s.message(now, rng)
				msg := &kafka.Message{
					TopicPartition: kafka.TopicPartition{Topic: &cfg.Topic, Partition: kafka.PartitionAny},
					Key:            []byte(s.asset.ID),
					Value:          value,
				}
				for {
					err := p.Produce(msg, nil)
					if err == nil {
						break
					}
					var ke kafka.Error
					if !errors.As(err, &ke) || ke.Code() != kafka.ErrQueueFull {
						return fmt.Errorf("simulate: produce: %w", err)
					}
					select { // the local queue is full: let it drain
					case <-ctx.Done():
						return nil
					case <-time.After(10 * time.Millisecond):
					}
				}
				sent++
			}
		}
	}
}

// role says how the simulator drives a signal.
type role int

const (
	roleLevel   role = iota // noisy value around a nominal level
	roleRate                // production rate: nominal while running, else 0
	roleCounter             // units since local midnight, growing with the rate
	roleGood                // good units: a share of the counter
	rolePower               // the power / enable bool
	roleFaults              // the fault code list
	roleProduct
	roleBatch
	roleCycles // a lifetime cycle counter (maintenance): never reset
)

// sigSim is the simulation of one signal.
type sigSim struct {
	def     twin.SignalDef
	role    role
	nominal float64
	noise   float64 // standard deviation
	value   float64
	raw     *twin.TagMapping // set when the signal is sent raw through the signal map
}

// assetSim is the simulation of one asset.
type assetSim struct {
	asset *twin.Asset
	typ   *twin.AssetType
	sigs  []*sigSim
	loc   *time.Location

	power      bool
	offUntil   time.Time
	faults     []string
	faultUntil time.Time
	idleUntil  time.Time
	product    string
	batch      string
	batchUntil time.Time
	batchNo    int
	total      float64
	good       float64
	cycles     float64
	day        string
	lastTS     time.Time
	lastAt     time.Time
	msgs       int
}

var (
	products   = []string{"SKU-COLA-330", "SKU-LEMON-330", "SKU-WATER-600", "SKU-TEA-1500"}
	faultCodes = []string{"E101", "E204", "E310", "E412", "E507", "W050"}
)

func newSims(m twin.Model, rng *rand.Rand) []*assetSim {
	raw := map[[2]string]*twin.TagMapping{}
	if mm, ok := m.(Mappings); ok {
		for _, mp := range mm.Mappings() {
			mp := mp
			raw[[2]string{mp.Asset, mp.Signal}] = &mp
		}
	}
	var out []*assetSim
	for _, a := range m.Assets() {
		t := m.Type(a.Type)
		if t == nil || len(t.Signals) == 0 {
			continue
		}
		s := &assetSim{asset: a, typ: t, loc: a.Location(), power: true,
			product: products[rng.IntN(len(products))],
			cycles:  math.Floor(rng.Float64() * 5e6)} // machines come with a history
		rated := 0.0
		for k, v := range a.Attributes {
			if strings.HasPrefix(k, "rated_speed") {
				if f, ok := v.(float64); ok {
					rated = f
				} else if i, ok := v.(int); ok {
					rated = float64(i)
				}
			}
		}
		for _, d := range t.Signals {
			ss := &sigSim{def: d, raw: raw[[2]string{a.ID, d.Name}]}
			ss.role = roleOf(t, d)
			lo, hi := 0.0, 100.0
			if d.Min != nil {
				lo = *d.Min
			}
			if d.Max != nil {
				hi = *d.Max
			} else {
				hi = lo + 100
			}
			switch ss.role {
			case roleRate:
				ss.nominal = lo + (hi-lo)*(0.55+0.15*rng.Float64())
				if rated > 0 && strings.Contains(d.Name, "speed") {
					ss.nominal = rated * 0.92
				}
				ss.noise = ss.nominal * 0.02
			case roleLevel:
				ss.nominal = lo + (hi-lo)*(0.45+0.15*rng.Float64())
				ss.noise = (hi - lo) * 0.01
			}
			ss.value = ss.nominal
			s.sigs = append(s.sigs, ss)
		}
		out = append(out, s)
	}
	return out
}

// roleOf guesses a signal's role from the type's declarations and its name.
func roleOf(t *twin.AssetType, d twin.SignalDef) role {
	switch {
	case t.Maintenance != nil && d.Name == t.Maintenance.CyclesSignal:
		return roleCycles
	case d.Name == t.FaultSignal || d.Kind == twin.KindList:
		return roleFaults
	case d.Name == t.ProductSignal || (d.Kind == twin.KindString && d.Name == "product"):
		return roleProduct
	case d.Name == t.BatchSignal || d.Kind == twin.KindString:
		return roleBatch
	case d.Kind == twin.KindBool:
		return rolePower
	case t.OEE != nil && d.Name == t.OEE.GoodSignal:
		return roleGood
	case (t.OEE != nil && d.Name == t.OEE.TotalSignal) || d.Max == nil && (strings.HasSuffix(d.Name, "_today") || strings.HasSuffix(d.Name, "_units")):
		return roleCounter
	}
	for _, w := range []string{"speed", "per_min", "flow", "rpm", "current_a", "_m_min"} {
		if strings.Contains(d.Name, w) {
			return roleRate
		}
	}
	return roleLevel
}

// element is one telemetry element of a message.
type element struct {
	Asset  string `json:"asset,omitempty"`
	Signal string `json:"signal,omitempty"`
	Device string `json:"device,omitempty"`
	Tag    string `json:"tag,omitempty"`
	Value  any    `json:"value"`
	TS     any    `json:"ts"`
}

// message advances the asset to now and returns one message with every signal.
func (s *assetSim) message(now time.Time, rng *rand.Rand) []byte {
	dt := 0.0
	if !s.lastAt.IsZero() {
		dt = now.Sub(s.lastAt).Seconds()
	}
	s.lastAt = now
	s.step(now, dt, rng)

	ts := now.Truncate(time.Millisecond)
	if !ts.After(s.lastTS) {
		ts = s.lastTS.Add(time.Millisecond)
	}
	s.lastTS = ts
	s.msgs++
	// Every other message of an asset with mapped signals sends them raw, as
	// an edge device would; the rest go curated.
	sendRaw := s.msgs%2 == 0

	els := make([]element, 0, len(s.sigs))
	for _, ss := range s.sigs {
		v := s.value(ss)
		if sendRaw && ss.raw != nil {
			els = append(els, element{Device: ss.raw.Device, Tag: ss.raw.Tag, Value: toRaw(*ss.raw, v), TS: ts.UnixMilli()})
			continue
		}
		els = append(els, element{Asset: s.asset.ID, Signal: ss.def.Name, Value: v, TS: ts.Format(time.RFC3339Nano)})
	}
	b, _ := json.Marshal(els)
	return b
}

// step moves the asset's business state: power cycles, faults, idle spells,
// batches and products, counters.
func (s *assetSim) step(now time.Time, dt float64, rng *rand.Rand) {
	chance := func(perSecond float64) bool { return rng.Float64() < perSecond*dt }
	if day := now.In(s.loc).Format(time.DateOnly); day != s.day {
		s.day, s.total, s.good = day, 0, 0
	}
	switch {
	case !s.power:
		if now.After(s.offUntil) {
			s.power = true
		}
	case chance(1.0 / 600):
		s.power = false
		s.faults = nil
		s.offUntil = now.Add(time.Duration(5+rng.IntN(10)) * time.Second)
	}
	if len(s.faults) > 0 && now.After(s.faultUntil) {
		s.faults = nil
	} else if s.power && len(s.faults) == 0 && chance(1.0/180) {
		s.faults = []string{faultCodes[rng.IntN(len(faultCodes))]}
		if rng.IntN(4) == 0 {
			s.faults = append(s.faults, faultCodes[rng.IntN(len(faultCodes))])
		}
		s.faultUntil = now.Add(time.Duration(3+rng.IntN(15)) * time.Second)
	}
	if s.power && len(s.faults) == 0 && now.After(s.idleUntil) && chance(1.0/240) {
		s.idleUntil = now.Add(time.Duration(4+rng.IntN(8)) * time.Second)
	}
	if s.batch == "" || now.After(s.batchUntil) {
		s.batchNo++
		if s.batch != "" && rng.IntN(4) == 0 {
			s.product = products[rng.IntN(len(products))]
		}
		s.batch = fmt.Sprintf("B%s-%03d", now.In(s.loc).Format("060102"), s.batchNo)
		s.batchUntil = now.Add(time.Duration(60+rng.IntN(120)) * time.Second)
	}
	running := s.power && len(s.faults) == 0 && now.After(s.idleUntil)
	for _, ss := range s.sigs {
		switch ss.role {
		case roleRate:
			if running {
				ss.value = math.Max(0, ss.nominal+rng.NormFloat64()*ss.noise)
			} else {
				ss.value = 0
			}
		case roleLevel:
			// A mean-reverting walk: realistic drift, never far from nominal.
			ss.value += (ss.nominal-ss.value)*0.1 + rng.NormFloat64()*ss.noise
			ss.value = clamp(ss.def, ss.value)
		}
	}
	// Counters grow with the first rate signal (units per minute).
	for _, ss := range s.sigs {
		if ss.role == roleRate {
			made := ss.value * dt / 60
			s.total += made
			s.good += made * (0.97 + 0.02*rng.Float64())
			s.cycles += made
			break
		}
	}
}

func clamp(d twin.SignalDef, v float64) float64 {
	if d.Min != nil && v < *d.Min {
		v = *d.Min
	}
	if d.Max != nil && v > *d.Max {
		v = *d.Max
	}
	return v
}

// value is a signal's current value as its JSON telemetry value.
func (s *assetSim) value(ss *sigSim) any {
	switch ss.role {
	case rolePower:
		return s.power
	case roleFaults:
		if s.faults == nil {
			return []string{}
		}
		return s.faults
	case roleProduct:
		return s.product
	case roleBatch:
		return s.batch
	case roleCounter:
		return math.Floor(s.total)
	case roleGood:
		return math.Floor(math.Min(s.good, s.total))
	case roleCycles:
		return math.Floor(s.cycles)
	}
	return math.Round(ss.value*100) / 100
}

// toRaw inverts a tag mapping's transform (curated = raw × scale + offset):
// what the device would have sent. Numbers come out as device integers.
func toRaw(mp twin.TagMapping, v any) any {
	f, ok := v.(float64)
	if !ok {
		return v
	}
	scale := mp.Scale
	if scale == 0 {
		scale = 1
	}
	return math.Round((f - mp.Offset) / scale)
}
