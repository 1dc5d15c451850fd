/* Optional: copy buttons on repro blocks, and Escape closes an open cell detail. The page works without it. */
document.querySelectorAll('pre.copy').forEach(function(p){var b=document.createElement('button');
var w=document.createElement('div');w.className='copyw';p.parentNode.insertBefore(w,p);w.appendChild(p);w.appendChild(b);
b.className='copy';b.type='button';b.textContent='copy';b.onclick=function(){navigator.clipboard.writeText(p.textContent)
.then(function(){b.textContent='copied'},function(){b.textContent='select and copy'})}});
document.addEventListener('keydown',function(e){var c=document.querySelector('.cell:target .close');if(e.key==='Escape'&&c)c.click()});
