// Threads: pthread_create/join (clone with the pthread flags, set_tid_address
// and CLONE_CHILD_CLEARTID's futex wake), a mutex and a condition variable
// (futex), thread-local storage.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static int turn;
static __thread int tls_value;

static void* worker(void* arg) {
  const long id = (long)arg;
  tls_value = (int)id * 10;
  for (int i = 0; i < 20000; ++i) {
    pthread_mutex_lock(&lock);
    ++counter;
    pthread_mutex_unlock(&lock);
  }
  pthread_mutex_lock(&lock);
  while (turn != id) pthread_cond_wait(&cond, &lock);
  printf("thread %ld: tls %d\n", id, tls_value);
  ++turn;
  pthread_cond_broadcast(&cond);
  pthread_mutex_unlock(&lock);
  return (void*)(id * 2);
}

// pthread_kill: the handler runs on the thread the signal was sent to.
static pthread_t handled_on;
static volatile int handled;
static void on_usr1(int sig) {
  handled_on = pthread_self();
  handled = 1;
}
static void* waiter(void* arg) {
  while (!handled) usleep(1000);
  return NULL;
}

int main(void) {
  pthread_t t[4];
  tls_value = -1;
  for (long i = 0; i < 4; ++i) pthread_create(&t[i], NULL, worker, (void*)i);
  long sum = 0;
  for (int i = 0; i < 4; ++i) {
    void* r;
    pthread_join(t[i], &r);
    sum += (long)r;
  }
  printf("counter %ld, results %ld, main tls %d\n", counter, sum, tls_value);
  signal(SIGUSR1, on_usr1);
  pthread_t w;
  pthread_create(&w, NULL, waiter, NULL);
  pthread_kill(w, SIGUSR1);
  pthread_join(w, NULL);
  printf("pthread_kill reached its thread: %d\n", pthread_equal(handled_on, w) != 0);
  return 0;
}
