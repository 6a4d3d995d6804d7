//! `--otlp URL` (cargo feature `otel`): OpenTelemetry export for users who run a collector.
//! The spans of client-core's public operations (each with its call or registration id) go
//! to `URL/v1/traces`, and the metrics client-core records through the `metrics` facade go to
//! `URL/v1/metrics`, both as OTLP over HTTP (protobuf).
//!
//! The bridge from the facade is this file's [`Bridge`]: each metric becomes an OpenTelemetry
//! instrument of the same name, its labels the instrument's attributes.

use metrics::{Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, SharedString, Unit};
use opentelemetry::metrics::{Meter, MeterProvider as _};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The providers to flush and shut down when the program ends.
pub struct Otel {
    traces: SdkTracerProvider,
    metrics: SdkMeterProvider,
}

/// How often metrics are pushed (a run of a few seconds still exports at its end).
const METRICS_EVERY: Duration = Duration::from_secs(5);

impl Otel {
    /// Sets up both exporters towards `url` and installs the metrics bridge as the global
    /// recorder. Returns the tracing layer to add to the subscriber.
    pub fn start<S>(
        url: &str,
    ) -> Result<(Otel, tracing_opentelemetry::OpenTelemetryLayer<S, opentelemetry_sdk::trace::Tracer>), String>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        let base = url.trim_end_matches('/');
        let resource = Resource::builder().with_service_name("sipline").build();
        let spans = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{base}/v1/traces"))
            .build()
            .map_err(|e| format!("OTLP traces to {base}: {e}"))?;
        let traces = SdkTracerProvider::builder().with_batch_exporter(spans).with_resource(resource.clone()).build();
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_endpoint(format!("{base}/v1/metrics"))
            .build()
            .map_err(|e| format!("OTLP metrics to {base}: {e}"))?;
        let reader = PeriodicReader::builder(exporter).with_interval(METRICS_EVERY).build();
        let metrics = SdkMeterProvider::builder().with_reader(reader).with_resource(resource).build();
        metrics::set_global_recorder(Bridge::new(metrics.meter("sipline"))).map_err(|_| {
            "another metrics recorder is installed (--metrics and --otlp exclude each other)".to_owned()
        })?;
        let layer = tracing_opentelemetry::layer().with_tracer(traces.tracer("sipline"));
        Ok((Otel { traces, metrics }, layer))
    }

    /// Pushes what is pending and stops the exporters. Runs outside the async runtime: the
    /// exporters' HTTP client blocks.
    pub fn shutdown(self) {
        if let Err(e) = self.traces.shutdown() {
            eprintln!("sipline: OTLP traces: {e}");
        }
        if let Err(e) = self.metrics.shutdown() {
            eprintln!("sipline: OTLP metrics: {e}");
        }
    }
}

/// A `metrics` recorder that records into OpenTelemetry instruments.
struct Bridge {
    meter: Meter,
    counters: Mutex<HashMap<Key, Arc<OtelCounter>>>,
    gauges: Mutex<HashMap<Key, Arc<OtelGauge>>>,
    histograms: Mutex<HashMap<Key, Arc<OtelHistogram>>>,
}

fn attributes(key: &Key) -> Vec<KeyValue> {
    key.labels().map(|l| KeyValue::new(l.key().to_owned(), l.value().to_owned())).collect()
}

impl Bridge {
    fn new(meter: Meter) -> Bridge {
        Bridge { meter, counters: Mutex::default(), gauges: Mutex::default(), histograms: Mutex::default() }
    }
}

struct OtelCounter {
    counter: opentelemetry::metrics::Counter<u64>,
    attributes: Vec<KeyValue>,
    /// The total so far, for `absolute`.
    total: AtomicU64,
}

impl CounterFn for OtelCounter {
    fn increment(&self, value: u64) {
        self.total.fetch_add(value, Ordering::Relaxed);
        self.counter.add(value, &self.attributes);
    }

    fn absolute(&self, value: u64) {
        let before = self.total.fetch_max(value, Ordering::Relaxed);
        if value > before {
            self.counter.add(value - before, &self.attributes);
        }
    }
}

struct OtelGauge {
    gauge: opentelemetry::metrics::Gauge<f64>,
    attributes: Vec<KeyValue>,
    /// The value's bits, for `increment` and `decrement`.
    value: AtomicU64,
}

impl OtelGauge {
    fn update(&self, f: impl Fn(f64) -> f64) {
        let mut now = 0.0;
        let _ = self.value.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            now = f(f64::from_bits(bits));
            Some(now.to_bits())
        });
        self.gauge.record(now, &self.attributes);
    }
}

impl GaugeFn for OtelGauge {
    fn increment(&self, value: f64) {
        self.update(|v| v + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|v| v - value);
    }

    fn set(&self, value: f64) {
        self.update(|_| value);
    }
}

struct OtelHistogram {
    histogram: opentelemetry::metrics::Histogram<f64>,
    attributes: Vec<KeyValue>,
}

impl HistogramFn for OtelHistogram {
    fn record(&self, value: f64) {
        self.histogram.record(value, &self.attributes);
    }
}

impl metrics::Recorder for Bridge {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut all = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let c = all.entry(key.clone()).or_insert_with(|| {
            Arc::new(OtelCounter {
                counter: self.meter.u64_counter(key.name().to_owned()).build(),
                attributes: attributes(key),
                total: AtomicU64::new(0),
            })
        });
        Counter::from_arc(c.clone())
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        let mut all = self.gauges.lock().unwrap_or_else(|p| p.into_inner());
        let g = all.entry(key.clone()).or_insert_with(|| {
            Arc::new(OtelGauge {
                gauge: self.meter.f64_gauge(key.name().to_owned()).build(),
                attributes: attributes(key),
                value: AtomicU64::new(0f64.to_bits()),
            })
        });
        Gauge::from_arc(g.clone())
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut all = self.histograms.lock().unwrap_or_else(|p| p.into_inner());
        let h = all.entry(key.clone()).or_insert_with(|| {
            Arc::new(OtelHistogram {
                histogram: self.meter.f64_histogram(key.name().to_owned()).build(),
                attributes: attributes(key),
            })
        });
        Histogram::from_arc(h.clone())
    }
}
