-- Rate-limit counters shared by every API instance (rate-limiter-flexible's RateLimiterPostgres layout):
-- failed authentications per client address, publishes per tenant. `expire` is epoch milliseconds.
CREATE TABLE rate_limits (
  key     varchar(255) PRIMARY KEY,
  points  integer NOT NULL DEFAULT 0,
  expire  bigint
);
CREATE INDEX rate_limits_expire ON rate_limits (expire);
