DELETE FROM cpu WHERE time >= '2026-01-01' AND time < now() - INTERVAL '1d'
  AND host IN ('a', 'b') AND region = $r