DELETE FROM cpu WHERE host = 'at line 9, column 9' OR
  host = 'b'