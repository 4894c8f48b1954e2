"""For leadership and analysts: MRR, KPIs, churn, cohorts, sales, forecast and portfolio health."""
