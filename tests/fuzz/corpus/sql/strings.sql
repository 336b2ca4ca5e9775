SELECT 'abc', '', 'it''s', '''', 'two
lines', 'température'