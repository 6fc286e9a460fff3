//! Dashboards as code: Grafana dashboard JSON generated from the catalog and the query model.
