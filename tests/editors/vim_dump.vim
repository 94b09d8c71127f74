" vim_dump.vim — writes, for the file in the buffer, its 'filetype' on the
" first line, then one JSON array per line: the syntax group of every byte
" ("" where nothing matches). Used by vim.test.mjs; g:dsp_out names the file.
let s:out = [&filetype]
for s:l in range(1, line('$'))
  let s:row = []
  for s:c in range(1, col([s:l, '$']) - 1)
    call add(s:row, synIDattr(synID(s:l, s:c, 1), 'name'))
  endfor
  call add(s:out, json_encode(s:row))
endfor
call writefile(s:out, g:dsp_out)
qa!
