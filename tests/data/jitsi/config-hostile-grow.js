// Grows an array until memory runs out.
var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' } };
var hoard = [];
while (true) {
    hoard.push(new Array(100000).fill(hoard.length));
}
