SELECT a,
       b + 1 AS c
FROM t
WHERE x IN (1)
ORDER BY a